import uuid

import pytest

from realtime_uploads.core.keys import original_key, sanitize_filename, upload_id_from_key

UID = uuid.UUID("8a0c0ab9-5a51-4ac1-9d8c-93f4b7c1b0b1")


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("cat.jpg", "cat.jpg"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\photo.PNG", "photo.PNG"),
        ("été à la plage.jpg", "ete_a_la_plage.jpg"),
        ("a\x00b\r\nc.gif", "a_b_c.gif"),
        ("photo.j/p\\g", "g"),
        ("noext", "noext"),
        ("....hidden", "upload.hidden"),
        ("", "upload"),
        ("🙂🙂.webp", "upload.webp"),
        ("<script>.jpg", "script.jpg"),
    ],
)
def test_hostile_filenames_become_safe_key_names(name, safe):
    assert sanitize_filename(name) == safe


def test_long_filename_is_cut_keeping_its_extension():
    safe = sanitize_filename("x" * 500 + ".jpeg")
    assert len(safe) == 100 and safe.endswith(".jpeg")


def test_original_key_is_prefix_id_and_safe_name():
    assert original_key("uploads/", UID, "../a b.jpg") == f"uploads/{UID}/a_b.jpg"


def test_upload_id_is_found_in_an_original_key():
    assert upload_id_from_key("uploads/", f"uploads/{UID}/cat.jpg") == UID


@pytest.mark.parametrize(
    "key",
    [
        f"variants/{UID}/thumb.webp",
        f"uploads/{UID}",
        f"uploads/{UID}/",
        f"uploads/{UID}/nested/cat.jpg",
        "uploads/not-a-uuid/cat.jpg",
        f"uploads/{str(UID).upper()}/cat.jpg",
        f"uploads/{UID.hex}/cat.jpg",
    ],
)
def test_keys_that_are_not_originals_yield_no_upload_id(key):
    assert upload_id_from_key("uploads/", key) is None
