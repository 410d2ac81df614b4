"""XDP programs on network devices.

As libbpf's ``bpf_program__attach_xdp()``: an XDP bpf_link (``BPF_LINK_CREATE`` with
``BPF_XDP`` and the device's ifindex, Linux 5.9+); on kernels without XDP links (EINVAL) the
program is attached through netlink instead (``IFLA_XDP``, as libbpf's ``bpf_xdp_attach()``),
and detaching removes exactly that program (``XDP_FLAGS_REPLACE`` with it as expected one).
``mode`` picks generic (``"skb"``/``"generic"``), driver (``"drv"``/``"native"``) or offload
(``"hw"``/``"offload"``) XDP; default: whatever the driver supports.
"""

from __future__ import annotations

from typing import Any

from pybpf.errors import BPFError, InvalidArgumentError
from pybpf.link.base import Link, fd_of
from pybpf.sys import netlink, uapi
from pybpf.sys.commands import link_create

__all__ = ["attach_xdp", "XDP_MODES", "resolve_ifindex"]

#: mode name -> XDP_FLAGS_* bit
XDP_MODES: dict[str, int] = {
    "skb": netlink.XDP_FLAGS_SKB_MODE, "generic": netlink.XDP_FLAGS_SKB_MODE, "xdpgeneric": netlink.XDP_FLAGS_SKB_MODE,
    "drv": netlink.XDP_FLAGS_DRV_MODE, "native": netlink.XDP_FLAGS_DRV_MODE, "xdpdrv": netlink.XDP_FLAGS_DRV_MODE,
    "hw": netlink.XDP_FLAGS_HW_MODE, "offload": netlink.XDP_FLAGS_HW_MODE, "xdpoffload": netlink.XDP_FLAGS_HW_MODE,
}
_EINVAL = 22


def resolve_ifindex(device: int | str) -> int:
    """An ifindex from an ifindex or a device name."""
    if isinstance(device, bool):
        raise InvalidArgumentError(f"bad network device {device!r}")
    if isinstance(device, int):
        if device <= 0:
            raise InvalidArgumentError(f"bad ifindex {device}")
        return device
    if isinstance(device, str) and device.isdigit():
        return int(device)
    return netlink.ifindex_of(device)


def _mode_flags(mode: str | None) -> int:
    if mode is None:
        return 0
    try:
        return XDP_MODES[mode]
    except KeyError:
        raise InvalidArgumentError(f"unknown XDP mode {mode!r} (known: {', '.join(XDP_MODES)})") from None


def attach_xdp(program: Any, device: int | str, *, mode: str | None = None, flags: int = 0,
               use_link: bool | None = None, replace: Any = None) -> Link:
    """Attach an XDP program to ``device`` (ifindex or name).

    ``use_link`` True forces a bpf_link, False forces netlink, None (default) tries the link
    first. ``replace`` (netlink only): the program expected to be attached now, replaced
    atomically. ``flags`` adds raw ``XDP_FLAGS_*`` bits (e.g. ``XDP_FLAGS_UPDATE_IF_NOEXIST``).
    """
    ifindex = resolve_ifindex(device)
    prog_fd = fd_of(program, "XDP attach: program")
    all_flags = _mode_flags(mode) | flags
    label = f"ifindex {ifindex}" + (f" ({mode})" if mode else "")
    if use_link is not False and replace is None:
        try:
            fd = link_create(prog_fd, ifindex, uapi.BPF_XDP, all_flags, target_is_ifindex=True,
                             what=f"attaching XDP program to {label}")
            return Link("xdp", fd=fd, program=program, target=label)
        except BPFError as exc:
            if use_link or exc.errno != _EINVAL:
                raise
    expected = fd_of(replace, "XDP attach: program to replace") if replace is not None else None
    netlink.xdp_set(ifindex, prog_fd, all_flags & ~netlink.XDP_FLAGS_REPLACE, expected)
    mode_flags = all_flags & netlink.XDP_FLAGS_MODES

    def detach() -> None:
        try:
            netlink.xdp_set(ifindex, -1, mode_flags, expected_fd=prog_fd)
        except BPFError as exc:
            if exc.errno not in (19, 17, 2):  # device gone, program already replaced
                raise

    return Link("xdp", program=program, target=label, on_detach=detach, legacy=True)
