"""The images the container smoke test starts: the service's own, and stand-ins made from Debian's packages for
machines that reach no image registry (a Python base, and PostgreSQL with Redis for compose.yaml).

Each stand-in is tagged with a digest of what it is made from and made only when that tag is missing (`podman image
exists`), so a warm run makes none of them; the service's image is rebuilt every run on podman's layer cache.
"""

import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
APP_TAG = "localhost/order-service:ci"
# The index may be reached through a TLS-intercepting proxy whose certificate only the host's bundle has: the build
# stage gets the bundle mounted at BUILD_CA_PATH, and the image never contains it.
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
BUILD_CA_PATH = "/run/host-ca.crt"

DEBIAN_SUITE = "bookworm"
DEBIAN_SOURCES = (
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
)
BASE_PACKAGES = "python3,python3-venv,ca-certificates"
# As in Debian's slim images: no manuals, documentation (but licences) or translations.
DPKG_OPTIONS = (
    "force-unsafe-io",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/info/*",
)
SERVICES_FILES = (HERE / "services.Containerfile", HERE / "services-entrypoint.sh")


class PodmanError(RuntimeError):
    pass


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _digest(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class Podman:
    binary: str

    def run(self, *args: str, timeout: float = 120, stdin: IO[bytes] | None = None) -> str:
        result = subprocess.run([self.binary, *args], stdin=stdin, capture_output=True, timeout=timeout, check=False)
        if result.returncode != 0:
            output = (result.stdout + result.stderr).decode(errors="replace")
            raise PodmanError(f"podman {' '.join(args[:2])} exited {result.returncode}:\n{_tail(output)}")
        return result.stdout.decode().strip()

    def image_exists(self, reference: str) -> bool:
        return subprocess.run([self.binary, "image", "exists", reference], check=False).returncode == 0

    def image_id(self, reference: str) -> str:
        return self.run("image", "inspect", "--format", "{{.Id}}", reference)

    def image_size(self, reference: str) -> int:
        return int(self.run("image", "inspect", "--format", "{{.Size}}", reference))

    def build(self, *, tag: str, containerfile: Path, context: Path, args: dict[str, str], volumes: list[str]) -> str:
        """Build with the layer cache in Docker's format (OCI has no HEALTHCHECK); the new image's id."""
        with tempfile.TemporaryDirectory() as scratch:
            iidfile = Path(scratch) / "iid"
            options = [f"--build-arg={name}={value}" for name, value in args.items()]
            options += [f"--volume={volume}" for volume in volumes]
            self.run(
                "build", "--format=docker", "--layers", f"--iidfile={iidfile}", f"--tag={tag}",
                f"--file={containerfile}", *options, str(context), timeout=900,
            )  # fmt: skip
            return iidfile.read_text().strip().removeprefix("sha256:")


def ensure_debian_python(podman: Podman) -> str:
    """A minimal Debian with its Python 3.11 and venv: `mmdebstrap | podman import`, about 45 s when missing."""
    tag = f"localhost/order-ci-python:{DEBIAN_SUITE}-{_digest(BASE_PACKAGES, *DEBIAN_SOURCES, *DPKG_OPTIONS)}"
    if podman.image_exists(tag):
        return tag
    mmdebstrap = shutil.which("mmdebstrap")
    if mmdebstrap is None:
        raise PodmanError("mmdebstrap is needed to make the base image here (apt-get install mmdebstrap)")
    command = [
        mmdebstrap, "--quiet", "--variant=minbase", f"--include={BASE_PACKAGES}",
        *(f"--dpkgopt={option}" for option in DPKG_OPTIONS), DEBIAN_SUITE, "-", *DEBIAN_SOURCES,
    ]  # fmt: skip
    # Unpacking into tmpfs rather than this disk halves the time (80 s to 45 s measured on a busy CI machine).
    shm = Path("/dev/shm")  # noqa: S108 - mmdebstrap makes a private directory of its own in it
    env = {**os.environ, "TMPDIR": str(shm)} if os.access(shm, os.W_OK) else None
    with subprocess.Popen(command, stdout=subprocess.PIPE, env=env) as bootstrap:
        try:
            podman.run("import", "--change", 'CMD ["/bin/bash"]', "-", tag, stdin=bootstrap.stdout, timeout=900)
        except BaseException:
            bootstrap.kill()
            raise
        status = bootstrap.wait(timeout=900)
    if status != 0:
        subprocess.run([podman.binary, "image", "rm", "--force", tag], capture_output=True, check=False)
        raise PodmanError(f"mmdebstrap exited {status}")
    return tag


def ensure_services(podman: Podman, base: str) -> str:
    """PostgreSQL and Redis from the base's Debian packages, standing in for the official images."""
    contents = [path.read_bytes() for path in SERVICES_FILES]
    tag = f"localhost/order-ci-services:{_digest(podman.image_id(base), *contents)}"
    if not podman.image_exists(tag):
        podman.build(tag=tag, containerfile=SERVICES_FILES[0], context=HERE, args={"BASE": base}, volumes=[])
    return tag


def build_app(podman: Podman, base: str) -> str:
    """The service's image from the repository's Dockerfile; its id (the tag may move under a concurrent run)."""
    args, volumes = {"BASE": base}, []
    if HOST_CA_BUNDLE.is_file():
        args["PIP_CERT"] = BUILD_CA_PATH
        volumes.append(f"{HOST_CA_BUNDLE}:{BUILD_CA_PATH}:ro")
    return podman.build(tag=APP_TAG, containerfile=ROOT / "Dockerfile", context=ROOT, args=args, volumes=volumes)
