"""Event streams: ``RingBuffer``, ``UserRingBuffer``, ``PerfBuffer``, iterators.

* :class:`RingBuffer` reads ``BPF_MAP_TYPE_RINGBUF`` maps (Linux 5.8+): callbacks, batches
  (:class:`RecordBatch`) and numpy arrays; several rings in one epoll poller.
* :class:`UserRingBuffer` writes ``BPF_MAP_TYPE_USER_RINGBUF`` maps (Linux 6.1+).
* :class:`PerfBuffer` reads ``BPF_MAP_TYPE_PERF_EVENT_ARRAY`` maps through per-CPU
  ``PERF_COUNT_SW_BPF_OUTPUT`` events (Linux 4.4+).
* :mod:`pybpf.events.iter` reads BPF iterators (Linux 5.8+); :mod:`pybpf.events.tracelog`
  the kernel's trace pipe.
"""

from __future__ import annotations

from pybpf.events.batch import RecordBatch
from pybpf.events.decode import RecordType, record_type
from pybpf.events.perfbuf import PerfBuffer
from pybpf.events.ringbuf import Ring, RingBuffer
from pybpf.events.user_ringbuf import Sample, UserRingBuffer

__all__ = ["PerfBuffer", "RecordBatch", "RecordType", "Ring", "RingBuffer", "Sample", "UserRingBuffer",
           "record_type"]
