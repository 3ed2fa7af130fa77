"""fold.valid_text: what a record may hold is valid text; valid text is kept as it is."""

from __future__ import annotations

import json

from git_ot.domain.fold import valid_text


def test_a_value_of_valid_text_is_the_value_itself():
    event = {"id": "e1", "data": {"input": {"command": "ls é 😀", "n": [1, 2.5, None, True]}}, "k": []}
    assert valid_text(event) is event


def test_bytes_that_were_not_utf8_and_lone_surrogates_become_escapes_keys_too():
    line = b'{"id": "e2", "data": {"out\xff": ["ok", "bad \xfe", {"x": "\\ud800 lone"}]}, "same": {"a": "b"}}'
    event = json.loads(line.decode("utf-8", "surrogateescape"))
    fixed = valid_text(event)
    assert fixed == {"id": "e2", "data": {"out\\xff": ["ok", "bad \\xfe", {"x": "\\ud800 lone"}]},
                     "same": {"a": "b"}}
    assert fixed["same"] is event["same"]  # what needed no change is not copied
    json.dumps(fixed, ensure_ascii=False).encode("utf-8")  # every string encodes
    assert event["data"] == {"out\udcff": ["ok", "bad \udcfe", {"x": "\ud800 lone"}]}  # the event is left as it was
