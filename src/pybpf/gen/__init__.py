"""Code generation: skeletons and Python types from BTF."""
