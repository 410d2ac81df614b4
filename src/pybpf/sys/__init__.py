"""Kernel interface: the only layer that makes system calls.

``bpf()`` per architecture, ``bpf_attr`` layouts, ``perf_event_open``, mmap, epoll, tracefs,
errno → :mod:`pybpf.errors`, and :class:`FD` ownership.
"""
