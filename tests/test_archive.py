"""The raw WARC archive: size and day rotation, and every record read back from the place it was written."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone

from warcio.archiveiterator import ArchiveIterator

from flows.archive import Archive, read_record

FETCHED = datetime(2024, 4, 27, 6, 0, tzinfo=timezone.utc)


def test_a_file_past_its_size_is_closed_and_every_record_reads_back_from_its_place(tmp_path):
    archive = Archive(tmp_path, max_bytes=4_000)
    bodies = {f"https://a.example/news/{i}": os.urandom(1_500) for i in range(12)}  # incompressible
    places = {url: archive.write_response(url, 200, "OK", [("Content-Type", "text/html")], body, FETCHED)
              for url, body in bodies.items()}
    archive.close()

    files = sorted({file for file, _ in places.values()})
    assert len(files) >= 4  # ~1.5 KB gzipped per record, 4 KB per file
    for url, (file, offset) in places.items():
        record = read_record(tmp_path, file, offset)
        assert (record.url, record.status, record.body) == (url, 200, bodies[url])
    written = 0
    for file in files:  # each file is a whole WARC file on its own
        assert (tmp_path / file).stat().st_size < 4_000 + 2_000
        with open(tmp_path / file, "rb") as fh:
            written += sum(1 for _ in ArchiveIterator(fh))
    assert written == len(bodies)


def test_a_failed_request_is_archived_as_a_metadata_record(tmp_path):
    archive = Archive(tmp_path)
    file, offset = archive.write_failure("https://a.example/x", "timeout", "read timed out", None, FETCHED)
    archive.close()
    record = read_record(tmp_path, file, offset)
    assert record.status is None
    assert json.loads(record.body) == {"url": "https://a.example/x", "final_url": None, "reason": "timeout",
                                       "detail": "read timed out", "status": None}


def test_a_new_utc_day_starts_a_new_file_in_that_days_folder(tmp_path):
    times = iter([datetime(2024, 4, 27, 23, 59, 58, tzinfo=timezone.utc),
                  datetime(2024, 4, 27, 23, 59, 59, tzinfo=timezone.utc),
                  datetime(2024, 4, 28, 0, 0, 1, tzinfo=timezone.utc)])
    archive = Archive(tmp_path, clock=lambda: next(times))
    places = [archive.write_response(f"https://a.example/news/{i}", 200, "OK", [("Content-Type", "text/html")],
                                     f"<p>{i}</p>".encode(), FETCHED) for i in range(3)]
    archive.close()
    files = [file for file, _ in places]
    assert files[0] == files[1] and files[0].startswith("warc/2024/04/27/akhbar-20240427T235958-")
    assert files[2].startswith("warc/2024/04/28/akhbar-20240428T000001-")
    assert [read_record(tmp_path, f, o).body for f, o in places] == [b"<p>0</p>", b"<p>1</p>", b"<p>2</p>"]
    with open(tmp_path / files[2], "rb") as fh:  # the new day's file is a whole WARC file on its own
        assert [r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(fh)] == [
            "https://a.example/news/2"]
