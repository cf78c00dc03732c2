"""`make bench` photos: the intake pipeline per 12 MP JPEG and HEIC, and upload throughput.

- Pipeline: ``process_image`` (default settings: WebP, 1600 px display, 320 px thumbnail) on a
  synthetic 12 MP photo (4032x3024: gradients, shapes and noise so it compresses like a photo,
  with EXIF GPS and date) as JPEG and as HEIC (x265, 512 px grid tiles as iPhones write them).
  Wall time and CPU time (CPU time is what the work costs without the machine's other load).
- Parallel: photos per second through the pipeline in 2 processes (one per core).
- Upload: ``POST /api/photos`` against gunicorn as deployed (gunicorn.conf.py) on a small
  database of its own (``heritage_bench_photos``, cloned from heritage_template, dropped after),
  2 connections, media in a temp dir.

The photos are made once and kept in .bench/photos/ (x265 takes 20-100 s for a 12 MP HEIC on
2 cores). Environment: QUICK=1 (fewer runs), BENCH_PHOTOS_JSON (.bench/photos.json),
BENCH_PHOTOS_UPLOAD=0 to skip the upload part.
Run: ``.venv/bin/python -m tests.bench.bench_photos``.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / ".bench"
CACHE = LOGS / "photos"
GENERATOR = 1  # bump when the synthetic photo changes
SIZE = (4032, 3024)  # 12.2 MP, an iPhone's main camera
DB = "heritage_bench_photos"
PASSWORD = "bench-photo-passord-2026"


def _quick() -> bool:
    return os.environ.get("QUICK", "") not in ("", "0")


def synthetic_photo(width: int, height: int, seed: int = 7) -> Image.Image:
    """A photo-like image: smooth gradients, coloured shapes, grain (compresses like a photo)."""
    gx = Image.linear_gradient("L").resize((width, height))
    gy = Image.linear_gradient("L").rotate(90).resize((width, height))
    rad = Image.radial_gradient("L").resize((width, height))
    blotches = Image.effect_noise((width // 8, height // 8), 60).resize(
        (width, height), Image.Resampling.BICUBIC
    )
    grain = Image.effect_noise((width, height), 10)
    red = ImageChops.add(ImageChops.multiply(gx, blotches), grain, scale=1.0)
    green = ImageChops.blend(gy, blotches, 0.5)
    blue = ImageChops.add(rad, grain, scale=1.3)
    im = Image.merge("RGB", (red, green, blue))
    draw = ImageDraw.Draw(im)
    for i in range(80):
        x, y = (i * 7919 + seed * 31) % width, (i * 104729 + seed * 17) % height
        colour = ((i * 37) % 255, (i * 91) % 255, (i * 53) % 255)
        draw.ellipse((x, y, x + width // 9, y + height // 11), fill=colour)
    return im.filter(ImageFilter.BoxBlur(1))


def photo_exif() -> Image.Exif:
    """EXIF as a phone writes it: camera, date, GPS with accuracy."""
    exif = Image.Exif()
    exif[0x010F] = "Bench"
    exif[0x0110] = "Synthetic 12MP"
    exif[0x0112] = 1
    exif[0x8769] = {0x9003: "2026:06:14 10:21:07"}
    exif[0x8825] = {1: "N", 2: (58.0, 47.0, 12.3), 3: "E", 4: (5.0, 51.0, 44.1), 31: 6.0}
    return exif


def corpus() -> dict[str, bytes]:
    """The 12 MP JPEG and HEIC, made once and cached in .bench/photos/."""
    CACHE.mkdir(parents=True, exist_ok=True)
    paths = {
        "jpeg": CACHE / f"photo12mp-v{GENERATOR}.jpg",
        "heic": CACHE / f"photo12mp-v{GENERATOR}.heic",
    }
    if all(p.exists() for p in paths.values()):
        return {k: p.read_bytes() for k, p in paths.items()}
    print("photos: making a synthetic 12 MP photo (JPEG, then HEIC: x265 is slow)...", flush=True)
    im = synthetic_photo(*SIZE)
    if not paths["jpeg"].exists():
        buffer = io.BytesIO()
        im.save(buffer, "JPEG", quality=92, exif=photo_exif())
        paths["jpeg"].write_bytes(buffer.getvalue())
    if not paths["heic"].exists():
        import pillow_heif

        started = time.monotonic()
        pillow_heif.options.GRID_TILE_SIZE = 512  # iPhones write 512 px tiles
        heif = pillow_heif.from_pillow(im)
        buffer = io.BytesIO()
        heif.save(
            buffer, quality=80, exif=photo_exif().tobytes(), enc_params={"preset": "ultrafast"}
        )
        pillow_heif.options.GRID_TILE_SIZE = 0
        tmp = paths["heic"].with_suffix(".tmp")
        tmp.write_bytes(buffer.getvalue())
        tmp.replace(paths["heic"])
        print(f"photos: HEIC encoded in {time.monotonic() - started:.0f} s", flush=True)
    return {k: p.read_bytes() for k, p in paths.items()}


def _stats(values: list[float]) -> dict[str, float]:
    """Median and p95 (nearest rank) in milliseconds."""
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(p95 * 1000, 1),
    }


def pipeline(data: bytes, runs: int, fmt: str = "webp") -> dict[str, Any]:
    """process_image timed `runs` times after one warm-up: wall and CPU time."""
    from app.media.imaging import ImageLimits, process_image

    limits = ImageLimits(fmt=fmt)
    result = process_image(data, limits)  # warm-up (imports, profiles)
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        process_image(data, limits)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {
        "runs": runs,
        "input_bytes": len(data),
        "wall": _stats(walls),
        "cpu": _stats(cpus),
        "display": [result.display.width, result.display.height, len(result.display.data)],
        "thumb": [result.thumb.width, result.thumb.height, len(result.thumb.data)],
        "gps_read": result.gps is not None,
    }


_WORKER_DATA: dict[str, bytes] = {}


def _init_worker(files: dict[str, bytes]) -> None:
    _WORKER_DATA.update(files)


def _one(kind: str) -> float:
    from app.media.imaging import ImageLimits, process_image

    started = time.perf_counter()
    process_image(_WORKER_DATA[kind], ImageLimits())
    return time.perf_counter() - started


def parallel(files: dict[str, bytes], kind: str, count: int, processes: int = 2) -> dict[str, Any]:
    """Photos per second through the pipeline in `processes` processes."""
    with ProcessPoolExecutor(processes, initializer=_init_worker, initargs=(files,)) as pool:
        list(pool.map(_one, [kind] * processes))  # warm-up: imports in every worker
        started = time.perf_counter()
        times = list(pool.map(_one, [kind] * count))
        wall = time.perf_counter() - started
    return {
        "processes": processes,
        "photos": count,
        "per_s": round(count / wall, 2),
        "each": _stats(times),
    }


def _run(args: list[str], env: dict[str, str], stdin: str | None = None) -> None:
    subprocess.run(args, cwd=ROOT, env=env, input=stdin, text=True, check=True, capture_output=True)


def _multipart(data: bytes, filename: str) -> tuple[bytes, str]:
    """A multipart/form-data body with one file field named 'file'."""
    boundary = "bench" + secrets.token_hex(12)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    return (
        head + data + f"\r\n--{boundary}--\r\n".encode(),
        f"multipart/form-data; boundary={boundary}",
    )


def upload(files: dict[str, bytes], count: int, connections: int = 2) -> dict[str, Any]:
    """POST /api/photos through gunicorn as deployed: throughput and latency per photo kind."""
    import psycopg

    from tests.bench import dataset
    from tests.bench.bench_http import Browser
    from tests.bench.bench_load import HOST, Request, Server, free_port, load

    with psycopg.connect(dataset.database_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DB}" TEMPLATE heritage_template')
    url = dataset.database_url(DB)
    base_env = {**os.environ, "DATABASE_URL": url, "FLASK_APP": "wsgi:app"}
    base_env.pop("REDIS_URL", None)
    venv = ROOT / ".venv" / "bin"
    media = tempfile.mkdtemp(prefix="heritage-bench-media-")
    server = None
    try:
        _run([str(venv / "flask"), "db", "upgrade"], base_env)
        email = "photographer@bench.example"
        _run(
            [str(venv / "flask"), "create-user", "--email", email, "--name", "Fotograf",
             "--password-stdin"],
            base_env,
            stdin=PASSWORD + "\n",
        )  # fmt: skip
        port = free_port()
        env = {
            **base_env, "HERITAGE_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(32),
            "HERITAGE_RATELIMIT_ENABLED": "false", "HERITAGE_BASE_URL": f"http://{HOST}:{port}",
            "HERITAGE_MEDIA_DIR": media, "HERITAGE_PHOTO_DAILY_QUOTA": "100000",
            "HERITAGE_PHOTO_USER_QUOTA_MB": "1000000",
        }  # fmt: skip
        argv = [str(venv / "gunicorn"), "--bind", f"{HOST}:{port}", "--no-control-socket",
                "wsgi:app"]  # fmt: skip
        server = Server("gunicorn-photos", argv, env, port, LOGS / "gunicorn-photos.log")
        server.wait_ready("/health")
        browser = Browser(port)
        browser.login(email, PASSWORD)
        results: dict[str, Any] = {}
        for kind in ("jpeg", "heic"):
            body, content_type = _multipart(files[kind], f"IMG_0001.{kind}")
            request = Request(
                "/api/photos",
                "POST",
                body,
                {**browser.headers(), "X-CSRFToken": browser.csrf, "Content-Type": content_type,
                 "Accept": "application/json"},
            )  # fmt: skip
            load(port, [request], connections=connections, total=connections, seconds=120)
            stats = load(port, [request], connections=connections, total=count, seconds=300)
            results[kind] = {**stats.summary(), "connections": connections,
                             "statuses": stats.statuses}  # fmt: skip
        stored = sum(1 for p in Path(media).rglob("*") if p.is_file())
        results["files_stored"] = stored
        return results
    finally:
        if server is not None:
            server.stop()
        with psycopg.connect(dataset.database_url("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        subprocess.run(["rm", "-rf", "--", media], check=False)


def main() -> int:
    """Measure, print a markdown table and write the JSON report."""
    quick = _quick()
    runs = 5 if quick else 10
    files = corpus()
    report: dict[str, Any] = {
        "quick": quick,
        "photo": {"size": list(SIZE), "megapixels": round(SIZE[0] * SIZE[1] / 1e6, 1)},
        "load_before": [round(x, 2) for x in os.getloadavg()],
        "cores": os.cpu_count(),
    }
    print("photos: pipeline per 12 MP photo...", flush=True)
    report["pipeline"] = {kind: pipeline(data, runs) for kind, data in files.items()}
    report["pipeline_jpeg_output"] = {"jpeg": pipeline(files["jpeg"], max(3, runs // 2), "jpeg")}
    print("photos: 2 processes...", flush=True)
    report["parallel"] = {
        kind: parallel(files, kind, 8 if quick else 16) for kind in ("jpeg", "heic")
    }
    if os.environ.get("BENCH_PHOTOS_UPLOAD", "1") != "0":
        print("photos: POST /api/photos through gunicorn...", flush=True)
        try:
            report["upload"] = upload(files, 8 if quick else 20)
        except Exception as exc:  # noqa: BLE001 - the pipeline figures still count
            report["upload"] = {"error": repr(exc)}
    report["load_after"] = [round(x, 2) for x in os.getloadavg()]
    _print(report)
    out = Path(os.environ.get("BENCH_PHOTOS_JSON") or LOGS / "photos.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"photos: report in {out}")
    failed = isinstance(report.get("upload"), dict) and "error" in report["upload"]
    return 1 if failed else 0


def _print(report: dict[str, Any]) -> None:
    """The markdown table the README and docs/benchmark.md take."""
    print()
    print(
        "| photo pipeline (12 MP, WebP out) | wall median | wall p95 | CPU median"
        " | photos/s (2 procs) |"
    )
    print("|---|---|---|---|---|")
    for kind, row in report["pipeline"].items():
        par = report["parallel"][kind]
        print(
            f"| {kind.upper()} {row['input_bytes'] / 1e6:.1f} MB | {row['wall']['median_ms']} ms "
            f"| {row['wall']['p95_ms']} ms | {row['cpu']['median_ms']} ms | {par['per_s']} |"
        )
    jpeg_out = report["pipeline_jpeg_output"]["jpeg"]
    wall, cpu = jpeg_out["wall"], jpeg_out["cpu"]
    print(f"| JPEG in, JPEG out | {wall['median_ms']} ms | {wall['p95_ms']} ms "
          f"| {cpu['median_ms']} ms | |")  # fmt: skip
    up = report.get("upload")
    if up and "error" not in up:
        print()
        print("| POST /api/photos (2 connections) | n | p50 | p95 | photos/s | errors |")
        print("|---|---|---|---|---|---|")
        for kind in ("jpeg", "heic"):
            row = up[kind]
            print(f"| {kind.upper()} 12 MP | {row['n']} | {row['p50_ms']} ms | {row['p95_ms']} ms "
                  f"| {row['per_s']} | {row['errors']} |")  # fmt: skip
    elif up:
        print(f"upload: {up['error']}")
    print(f"(load average before {report['load_before']}, after {report['load_after']}; "
          f"{report['cores']} cores)")  # fmt: skip
    print()


if __name__ == "__main__":
    sys.exit(main())
