"""The records of ``tests/data/snapshot_v1``: a snapshot as brainstem-pandas 0.1.0 wrote it (format version 1)."""

RECORDS = [
    {
        "id": "00000000-0000-0000-0000-000000000001",
        "name": "first",
        "date_time": "2024-05-01T10:00:00Z",
        "tags": ["pilot", "mm"],
        "projects": ["10000000-0000-0000-0000-000000000001"],
        "extra_fields": {"trials": 12, "rig": "A", "room temp": 21.5, "nested": {"k": [1, 2]}},
        "download_links": [{"repository": "dandi", "url": "https://example.org/1"}],
    },
    {
        "id": "00000000-0000-0000-0000-000000000002",
        "name": None,
        "date_time": None,
        "tags": [],
        "projects": [],
        "extra_fields": {"trials": None, "mixed": "text"},
        "download_links": [],
    },
    {
        "id": "00000000-0000-0000-0000-000000000003",
        "name": "third",
        "date_time": "2024-05-03T10:00:00Z",
        "tags": None,
        "projects": ["10000000-0000-0000-0000-000000000001", "10000000-0000-0000-0000-000000000002"],
        "extra_fields": {"mixed": 3},
        "download_links": [{"repository": "osf", "url": "https://example.org/3", "position": 9}],
    },
]
