"""The local sandbox a user's script (or model handler) runs in, one per task.

Unprivileged and built from the kernel's own mechanisms, so it needs no setup and no root:

- **Landlock** (Linux 5.13+): the script may read the Python installation, the system's
  libraries and a short list of ``/etc`` files, read and write its own working directory and
  the caches named in its environment, and read exactly the stored files its task was given.
  Everything else (``$ASSAY_HOME``'s database and keys, other tasks' directories, ``/tmp``,
  ``/root``) is refused by the kernel, for root too. Landlock also keeps the script from
  reading other processes' memory and environment (``/proc/PID/environ``), from signalling
  processes outside its sandbox (ABI 6) and from binding TCP ports (ABI 4), so it cannot
  listen for connections.
- **Resource limits** (``setrlimit``): address space (the version's memory request), CPU
  time (from its timeout), open files, no core dumps.
- **A process limit**: a ``pids`` cgroup of its own when one can be made (root, or a
  delegated cgroup), else ``RLIMIT_NPROC`` (not enforced for root by the kernel). A fork bomb
  hits the limit; everything left in the cgroup is killed when the script ends.

What is built here, in the worker, before the fork: the Landlock ruleset (opening the paths
it names is not safe between fork and exec). The child only joins the cgroup and applies the
limits and the ruleset (``preexec``). ``docs/reliability.md`` says what this does not promise.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import signal
import stat
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

# Landlock's system calls have the same numbers on every architecture (the unified table).
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_DUMPABLE, _PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS = 4, 24, 38
_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
_CAPSET = {"x86_64": 126, "aarch64": 91}.get(os.uname().machine)
_CAP_VERSION_3 = 0x20080522

# Filesystem rights (include/uapi/linux/landlock.h) and the ABI that introduced each.
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_MAKE_AND_REMOVE = sum(1 << bit for bit in range(4, 13))  # remove/make dir, file, sock, ...
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
_NET_BIND_TCP = 1 << 0
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1

READ = EXECUTE | READ_FILE | READ_DIR
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # all a file can take

# /etc holds secrets (shadow, ssh host keys): only what Python, TLS and name lookups read.
_ETC = (
    "ssl",
    "ca-certificates",
    "pki",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "timezone",
    "zoneinfo",
    "hosts",
    "resolv.conf",
    "nsswitch.conf",
    "host.conf",
    "gai.conf",
    "passwd",
    "group",
    "os-release",
    "mime.types",
    "fonts",
    "alternatives",
    "protocols",
    "services",
    "machine-id",
)
_SYSTEM = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/opt", "/proc", "/sys")
_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty")
_GPU_PREFIXES = ("nvidia", "dri", "kfd")  # device nodes a model on a GPU needs
_PREFIX = "assay-task-"  # a task's cgroup: assay-task-<worker pid>-<ns>
DEFAULT_PIDS = 512  # processes and threads of one task (thread pools count)


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def not_dumpable() -> None:
    """Keep other processes of this user, a sandboxed script among them, out of this one's
    ``/proc/PID/environ`` and memory: the server and the worker hold secrets there."""
    _libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)


def _drop_capabilities() -> None:
    """Root without capabilities: file access is then Landlock's and plain permissions'
    business, and non-dumpable processes stay closed even to a root script."""
    _libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    for cap in range(64):  # the bounding set: an exec'd program cannot get them back
        if _libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break  # past the last capability the kernel knows
    if _CAPSET is not None:
        header = _CapHeader(_CAP_VERSION_3, 0)
        data = (_CapData * 2)()
        if _libc.syscall(_CAPSET, ctypes.byref(header), data) != 0:
            os.write(2, b"[assay] could not drop capabilities\n")
            os._exit(70)


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 when Landlock is missing or turned off."""
    version = _libc.syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION)
    return max(int(version), 0)


@dataclass
class Sandbox:
    """What one script may touch; ``prepare`` before the fork, ``enter`` in the child."""

    workdir: Path
    writable: list[Path] = field(default_factory=list)  # caches the task is told about
    readable: list[Path] = field(default_factory=list)  # directories: the runtime, ...
    files: list[Path] = field(default_factory=list)  # single files: its linked inputs
    read_by_name: list[Path] = field(default_factory=list)  # files readable, dirs unlisted
    memory: int = 0
    cpu_seconds: int = 0
    pids: int = DEFAULT_PIDS
    abi: int = 0
    notes: list[str] = field(default_factory=list)  # what could not be had, for the log
    _ruleset: int = -1
    _cgroup: Path | None = None

    def prepare(self) -> None:
        self.abi = landlock_abi()
        if self.abi:
            self._ruleset = self._build_ruleset()
        else:
            self.notes.append("Landlock is not available: the filesystem is not restricted")
        self._cgroup = _make_cgroup(self.pids)
        if self._cgroup is None and os.geteuid() == 0:
            self.notes.append(
                "no pids cgroup could be made and RLIMIT_NPROC does not bind root: the "
                "number of processes is not limited"
            )

    def enter(self) -> None:
        """In the child, between fork and exec: system calls only, nothing that allocates
        much or takes locks."""
        if self._cgroup is not None:
            with open(self._cgroup / "cgroup.procs", "w") as procs:
                procs.write(str(os.getpid()))
        elif os.geteuid() != 0:  # counted per user: leave room for what already runs
            resource.setrlimit(resource.RLIMIT_NPROC, (self.pids, self.pids))
        if self.memory > 0:
            resource.setrlimit(resource.RLIMIT_AS, (self.memory, self.memory))
        if self.cpu_seconds > 0:
            resource.setrlimit(resource.RLIMIT_CPU, (self.cpu_seconds, self.cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if os.geteuid() == 0:
            _drop_capabilities()
        if self._ruleset >= 0 and (
            _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            or _libc.syscall(_RESTRICT_SELF, self._ruleset, 0) != 0
        ):  # never run the script unconfined by accident
            os.write(2, b"[assay] could not enter the sandbox (Landlock)\n")
            os._exit(70)

    def close(self) -> None:
        """After the script ended: kill what it left in its cgroup, then remove the cgroup."""
        if self._ruleset >= 0:
            os.close(self._ruleset)
            self._ruleset = -1
        if self._cgroup is not None:
            _empty_cgroup(self._cgroup)
            self._cgroup = None

    def describe(self) -> str:
        parts = [f"Landlock ABI {self.abi}" if self.abi else "no Landlock"]
        parts.append(f"pids cgroup ({self.pids})" if self._cgroup else "no pids cgroup")
        return ", ".join(parts)

    # -- the ruleset ------------------------------------------------------------------------

    def _build_ruleset(self) -> int:
        fs = _FS_BY_ABI[max(a for a in _FS_BY_ABI if a <= self.abi)]
        attr = _RulesetAttr(fs, _NET_BIND_TCP if self.abi >= 4 else 0, 0)
        if self.abi >= 6:
            attr.scoped = _SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL
        size = ctypes.sizeof(_RulesetAttr) if self.abi >= 6 else 16 if self.abi >= 4 else 8
        fd = int(_libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0))
        if fd < 0:
            raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
        everything = fs & ~REFER  # moving files between allowed trees is not needed
        for path in self._read_paths():
            _allow(fd, path, READ & fs)
        for path in (self.workdir, *self.writable, Path("/dev/shm")):
            _allow(fd, path, everything)
        for path in self.files:
            _allow(fd, path, READ_FILE)
        for path in self.read_by_name:
            _allow(fd, path, READ_FILE)
        for path in _device_paths():
            _allow(fd, path, (READ_FILE | WRITE_FILE | IOCTL_DEV | READ_DIR) & fs)
        return fd

    def _read_paths(self) -> Iterable[Path]:
        yield from (Path(p) for p in _SYSTEM)
        yield from (Path("/etc") / name for name in _ETC)
        # The interpreter and every import location: Assay's own code, its virtual
        # environment, the base installation the environment was made from.
        yield from (Path(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix))
        yield Path(os.path.realpath(sys.executable)).parent.parent
        yield from (Path(p) for p in sys.path if p)
        yield from self.readable


def _allow(ruleset: int, path: Path, rights: int) -> None:
    """Add a rule for ``path`` (silently nothing when it does not exist)."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= FILE_RIGHTS  # a file takes file rights only (the kernel says EINVAL)
        rule = _PathBeneathAttr(rights, fd)
        if _libc.syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
    finally:
        os.close(fd)


def _device_paths() -> Iterable[Path]:
    yield from (Path(p) for p in _DEVICES)
    with contextlib.suppress(OSError):
        for entry in os.scandir("/dev"):
            if entry.name.startswith(_GPU_PREFIXES):
                yield Path(entry.path)


# -- the process limit ------------------------------------------------------------------------


def pids_hierarchy() -> Path | None:
    """Our own cgroup in a hierarchy with the pids controller (v1 ``pids`` or v2)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "pids" in controllers.split(","):
            return Path("/sys/fs/cgroup/pids" + path)
    for line in lines:
        if line.startswith("0::"):
            base = Path("/sys/fs/cgroup" + line[3:])
            with contextlib.suppress(OSError):
                if "pids" in (base / "cgroup.subtree_control").read_text().split():
                    return base
    return None


def _make_cgroup(limit: int) -> Path | None:
    parent = pids_hierarchy()
    if parent is None:
        return None
    _reap_abandoned(parent)
    group = parent / f"{_PREFIX}{os.getpid()}-{time.monotonic_ns()}"
    try:
        group.mkdir()
    except OSError:
        return None
    try:
        (group / "pids.max").write_text(str(limit))
    except OSError:
        with contextlib.suppress(OSError):
            group.rmdir()
        return None
    return group


def _reap_abandoned(parent: Path) -> None:
    """Cgroups of workers that died without cleaning up (killed with SIGKILL): kill what
    is left in them, a fork bomb's escaped processes say, and remove them."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(parent):
            if not entry.name.startswith(_PREFIX):
                continue
            owner = entry.name[len(_PREFIX) :].split("-")[0]
            if owner.isdigit() and not Path(f"/proc/{owner}").exists():
                _empty_cgroup(Path(entry.path))


def _empty_cgroup(group: Path) -> None:
    for _ in range(100):
        try:
            pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
        except OSError:
            return
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
    with contextlib.suppress(OSError):
        group.rmdir()
