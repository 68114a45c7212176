"""The only package that imports `cryptography`: primitives behind small SSH-shaped APIs."""
