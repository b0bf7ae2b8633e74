"""Photos, videos, files, voice notes and locations as they arrive from Element and FluffyChat."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from bot.domain.faces import UnreadableImageError, count_faces
from bot.domain.geo import GeoPoint
from bot.domain.message import has_caption, parse_event
from bot.domain.periods import DAY_MS
from bot.settings import RetentionSettings
from bot.store import Store
from bot.store.governance import RetentionInputs
from bot.store.incidents import Incident
from tests.unit.test_message import ROOM, event

DATA = Path(__file__).parent.parent / "data"
IMAGE = {"url": "mxc://example.nl/abc", "info": {"mimetype": "image/jpeg", "size": 2048}}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"body": "Deze man loopt nu bij nr 4", "filename": "IMG_0042.jpg"}, True),
        ({"body": "IMG_0042.jpg", "filename": "IMG_0042.jpg"}, False),  # same: a file name
        ({"body": "IMG_0042.jpg"}, False),  # before Matrix 1.10: body is the file name
        ({"body": " IMG_0042.jpg ", "filename": "IMG_0042.jpg"}, False),
        ({"body": "", "filename": "IMG_0042.jpg"}, False),
        ({"body": "Kijk", "filename": 42}, False),
        ({"body": None, "filename": "x.jpg"}, False),
    ],
)
def test_caption_detection(content: dict[str, Any], expected: bool) -> None:
    assert has_caption(content) is expected


def test_captioned_image_is_read_like_text() -> None:
    content = {"msgtype": "m.image", "body": "Inbraak nu!", "filename": "a.jpg", **IMAGE}
    msg = parse_event(ROOM, event(content))
    assert msg is not None and msg.caption and msg.is_media and not msg.is_text
    assert msg.body == "Inbraak nu!"
    assert msg.attachment is not None and msg.attachment.url == "mxc://example.nl/abc"
    assert msg.attachment.mimetype == "image/jpeg" and msg.attachment.size == 2048


@pytest.mark.parametrize("msgtype", ["m.image", "m.video", "m.file", "m.audio"])
def test_media_without_caption_has_no_words(msgtype: str) -> None:
    msg = parse_event(ROOM, event({"msgtype": msgtype, "body": "IMG_0042.jpg", **IMAGE}))
    assert msg is not None and msg.body == "" and not msg.caption and msg.is_media


def test_voice_note_never_counts_its_body_as_words() -> None:
    content = {
        "msgtype": "m.audio",
        "body": "Nu inbraak bij de buren, bel 112",  # what some clients put there: a transcript
        "filename": "voice.ogg",
        "org.matrix.msc3245.voice": {},
        **IMAGE,
    }
    msg = parse_event(ROOM, event(content))
    assert msg is not None and msg.body == "" and not msg.caption


def test_encrypted_image_keeps_its_file_object() -> None:
    file = {"url": "mxc://example.nl/enc", "key": {"k": "x"}, "iv": "y", "hashes": {"sha256": "z"}}
    content = {"msgtype": "m.image", "body": "foto.jpg", "file": file, "info": {"size": "big"}}
    msg = parse_event(ROOM, event(content))
    assert msg is not None and msg.attachment is not None
    assert msg.attachment.url == "mxc://example.nl/enc" and msg.attachment.encrypted_file == file
    assert msg.attachment.size is None  # a size of the wrong type is ignored


def test_media_without_any_file_is_malformed() -> None:
    assert parse_event(ROOM, event({"msgtype": "m.image", "body": "x", "file": "nope"})) is None


def test_location() -> None:
    content = {"msgtype": "m.location", "body": "Locatie", "geo_uri": "geo:52.370216,4.895168"}
    content["m.relates_to"] = {"rel_type": "m.thread", "event_id": "$report"}
    msg = parse_event(ROOM, event(content))
    assert msg is not None and msg.location == GeoPoint(52.370216, 4.895168)
    assert msg.body == "" and msg.follows_up == "$report"


@pytest.mark.parametrize("geo_uri", ["geo:200,4", "hier", None, "geo:52,4;crs=EPSG:28992"])
def test_malformed_location_is_skipped(geo_uri: object) -> None:
    content = {"msgtype": "m.location", "body": "Locatie", "geo_uri": geo_uri}
    assert parse_event(ROOM, event(content)) is None


async def test_location_is_stored_rounded_and_erased_with_the_incident(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "bot.sqlite3")
    try:
        repo = store.incidents
        base = Incident(ROOM, "$r", "@jan:x", 1_000_000, "burglary", True, (), "Inbraak")
        saved = await repo.save(base.with_(attachment="image"))
        assert saved.attachment == "image" and saved.location is None
        saved = await repo.save(saved.with_(location=GeoPoint(52.370216, 4.895168)))
        row = await store.db.fetchone("SELECT latitude, longitude FROM incidents")
        assert row is not None and (row[0], row[1]) == (52.3702, 4.8952)  # never the exact point
        assert (await repo.latest_by(ROOM, "@jan:x", 1_000_000)) == saved
        assert await repo.latest_by(ROOM, "@jan:x", 1_000_001) is None
        assert await repo.latest_by(ROOM, "@piet:x", 0) is None

        assert (await store.governance.erase_user("@jan:x"))["incidents"] == 1  # !vergeet
        row = await store.db.fetchone("SELECT latitude, longitude, category FROM incidents")
        assert row is not None and (row[0], row[1], row[2]) == (None, None, "burglary")
        await repo.save(saved)
        inputs = RetentionInputs(1_000_000 + 181 * DAY_MS, RetentionSettings(), 0)
        async with store.db.transaction() as conn:  # retention: the number stays, not the place
            assert (await store.governance.purge(conn, inputs))["incident_excerpts"] == 1
        row = await store.db.fetchone("SELECT latitude, longitude FROM incidents")
        assert row is not None and (row[0], row[1]) == (None, None)
    finally:
        await store.close()


async def test_face_tip_at_most_once_per_interval(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "bot.sqlite3")
    try:
        tips, day = store.face_tips, 86_400_000
        assert await tips.claim("@jan:x", 0, 30 * day)
        assert not await tips.claim("@jan:x", 29 * day, 30 * day)
        assert await tips.claim("@piet:x", 29 * day, 30 * day)
        assert await tips.claim("@jan:x", 30 * day, 30 * day)
        assert await tips.purge_older_than(30 * day) == 1  # @piet's record of day 29
        assert await tips.erase_user("@jan:x") == 1
        assert await tips.claim("@jan:x", 31 * day, 30 * day)
    finally:
        await store.close()


# -- the face detector -----------------------------------------------------------------------


def face_photo() -> bytes:
    """tests/data/face.jpg: NASA's portrait of astronaut Eileen Collins (public domain), as
    shipped in scikit-image's data, cropped to 300x300 and saved as JPEG."""
    return (DATA / "face.jpg").read_bytes()


def street_without_people() -> bytes:
    """A made-up street: sky, houses with windows, a car; shapes, no face."""
    rng = np.random.default_rng(14)
    image = np.full((600, 900, 3), (200, 170, 120), np.uint8)  # sky (BGR)
    cv2.rectangle(image, (0, 420), (900, 600), (90, 90, 90), -1)  # road
    for x in range(0, 900, 180):
        cv2.rectangle(image, (x + 10, 180), (x + 170, 420), (60, 80, 150), -1)  # brick house
        for wx in (x + 30, x + 110):
            cv2.rectangle(image, (wx, 220), (wx + 40, 280), (230, 230, 230), -1)
        cv2.rectangle(image, (x + 75, 330), (x + 105, 420), (40, 40, 40), -1)  # door
    cv2.rectangle(image, (300, 450), (520, 530), (30, 30, 160), -1)  # car
    for cx in (340, 480):
        cv2.circle(image, (cx, 535), 22, (20, 20, 20), -1)
    noise = rng.integers(0, 12, image.shape, dtype=np.uint8)
    ok, encoded = cv2.imencode(".jpg", cv2.add(image, noise))
    assert ok
    return encoded.tobytes()


def test_a_face_is_found() -> None:
    assert count_faces(face_photo()) == 1


def test_a_phone_sized_photo_is_scaled_down_and_still_seen() -> None:
    face = cv2.imdecode(np.frombuffer(face_photo(), np.uint8), cv2.IMREAD_COLOR)
    ok, encoded = cv2.imencode(".png", cv2.resize(face, None, fx=4, fy=4))  # 1200 x 1200
    assert ok and count_faces(encoded.tobytes()) >= 1


def test_no_face_in_a_street() -> None:
    assert count_faces(street_without_people()) == 0


def test_a_small_face_far_away_is_not_recognisable() -> None:
    face = cv2.imdecode(np.frombuffer(face_photo(), np.uint8), cv2.IMREAD_COLOR)
    canvas = np.full((2400, 2400, 3), 180, np.uint8)
    canvas[1000:1100, 1000:1100] = cv2.resize(face, (100, 100))  # the face is ~1/24 wide
    ok, encoded = cv2.imencode(".jpg", canvas)
    assert ok and count_faces(encoded.tobytes()) == 0


@pytest.mark.parametrize("junk", [b"", b"not an image", b"\xff\xd8\xff" + b"\x00" * 100])
def test_undecodable_bytes(junk: bytes) -> None:
    with pytest.raises(UnreadableImageError):
        count_faces(junk)


def test_face_tip_refuses_to_start_without_opencv(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from bot.settings import SettingsError, load_settings

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "cv2" else real(name, *a)
    )
    base = {"homeserver": "http://localhost:8008", "user_id": "@bot:x", "password": "x"}
    assert not load_settings(**base).face_tip.enabled  # off by default: no OpenCV needed
    with pytest.raises(SettingsError, match=r"face_tip.*buurtwacht\[faces\]"):
        load_settings(**base, face_tip={"enabled": True})


def test_a_decompression_bomb_is_refused_not_decoded() -> None:
    """A 136 KiB PNG that claims 12000 x 12000 pixels. Run in a fresh interpreter: OpenCV reads
    its pixel limit once, before the first decode, as the bot's process does."""
    script = """
import struct, zlib
from bot.domain.faces import UnreadableImageError, count_faces
w = h = 12000
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
rows = zlib.compress(bytes(h * (w + 1)), 9)
bomb = b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
bomb += chunk(b"IDAT", rows) + chunk(b"IEND", b"")
try:
    count_faces(bomb)
except UnreadableImageError:
    print("refused")
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stdout.strip() == "refused", result.stderr[-500:]
