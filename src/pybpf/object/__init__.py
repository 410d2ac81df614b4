"""Object files: ``ObjectSpec`` (parsed, copyable, syscall-free) and ``Object`` (loaded, owns fds)."""
