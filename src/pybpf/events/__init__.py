"""Event streams: ``RingBuffer``, ``UserRingBuffer``, ``PerfBuffer``, iterators."""
