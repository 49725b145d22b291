"""The datatrove filter step (`mtcheck.gate.datatrove_filter.MTCheckFilter`): the gate's decision per Document,
nothing lost, the model never pickled. Real `LocalPipelineExecutor` runs: JsonlReader -> filter -> JsonlWriter."""

from __future__ import annotations

import copy
import io
import json
import pickle
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("datatrove")

from datatrove.data import Document  # noqa: E402
from datatrove.executor import LocalPipelineExecutor  # noqa: E402
from datatrove.pipeline.readers import JsonlReader  # noqa: E402
from datatrove.pipeline.writers import JsonlWriter  # noqa: E402

from mtcheck.core.errors import MtcheckError  # noqa: E402
from mtcheck.gate.datatrove_filter import MTCheckFilter  # noqa: E402
from mtcheck.gate.filters import OUT_FOLDER  # noqa: E402
from mtcheck.gate.policy import default_policy  # noqa: E402
from reports import make_report  # noqa: E402

ENGLISH = (
    "The government said on Monday that it would raise the minimum wage by five percent next year. "
    "Trade unions welcomed the decision but said it was not enough to keep up with the rising cost of living. "
    "The opposition accused the ministers of acting only because an election is coming in the spring. "
    "Economists expect the change to affect about two million workers across the country."
)


# --- a stand-in checker: reports built by the product (tests/reports.py), no model -----------------------
class FakeLM:
    name = "fake"
    sha256 = "f" * 64


class FakeChecker:
    """Fluency by a word in the text: "garbled" -> 10 (reject), "odd" -> 30 (quarantine), else 80 (accept);
    "explode" crashes the check (and any batch that holds it)."""

    built = 0

    def __init__(self) -> None:
        FakeChecker.built += 1
        self.lm = FakeLM()
        self.checked: list[str] = []

    def check(self, article):
        if "explode" in article.text:
            raise RuntimeError("tensor shape\nmismatch")
        self.checked.append(article.id)
        fluency = 10.0 if "garbled" in article.text else 30.0 if "odd" in article.text else 80.0
        return make_report(article.text, has_title=False, fluency=fluency, path=f"<{article.id}>")

    def check_many(self, articles):
        if any("explode" in a.text for a in articles):
            raise RuntimeError("the batch failed")
        return [self.check(a) for a in articles]


class Unpicklable:
    """Stands for a loaded model: a lock cannot be pickled."""

    lm = FakeLM()

    def __init__(self) -> None:
        self.lock = threading.Lock()


def fake_filter(**kwargs) -> MTCheckFilter:
    f = MTCheckFilter(**kwargs)
    f._make_checker = FakeChecker
    return f


# --- helpers -----------------------------------------------------------------------------------------
def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "news.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def read_out(folder: Path) -> list[dict]:
    return [json.loads(line) for f in sorted(folder.glob("*.jsonl")) for line in f.read_text().splitlines()]


def run_pipeline(tmp: Path, name: str, source: Path, step: MTCheckFilter) -> tuple[list[dict], list[dict], dict]:
    """kept and excluded documents as JSONL records, and the filter's stats (label: count) from stats.json."""
    kept, excluded, logs = tmp / f"{name}-kept", tmp / f"{name}-excluded", tmp / f"{name}-logs"
    step.exclusion_writer = JsonlWriter(str(excluded), compression=None)
    LocalPipelineExecutor(
        [JsonlReader(str(source)), step, JsonlWriter(str(kept), compression=None)],
        tasks=1,
        workers=1,
        logging_dir=str(logs),
    ).run()
    stats = json.loads((logs / "stats.json").read_text())
    mine = next(s for s in stats if "MTCheck" in s["name"])
    return read_out(kept), read_out(excluded), mine["stats"]


def ids(records: list[dict]) -> list[str]:
    return [r["id"] for r in records]


# --- fast: no model ----------------------------------------------------------------------------------
def test_the_filter_pickles_and_copies_without_its_loaded_model(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("[fluency]\nquarantine_below = 55.0\n", encoding="utf-8")
    f = MTCheckFilter(policy=policy, keep=("accept", "quarantine"), title_key="headline", batch_size=4)
    f._checker = Unpicklable()  # as after the first document: the model is loaded
    import dill  # datatrove's multiprocess pickles with dill

    for again in (pickle.loads(pickle.dumps(f)), dill.loads(dill.dumps(f)), copy.deepcopy(f)):
        assert again._checker is None and f._checker is not None
        assert again.policy.get("fluency", "quarantine_below") == 55.0
        assert again.policy_sha256 == f.policy_sha256 != default_policy().sha256
        assert (again.keep, again.title_key, again.batch_size) == (("accept", "quarantine"), "headline", 4)
    # The model loads on first need, once per copy (and, for the real checker, once per process).
    g = fake_filter()
    built = FakeChecker.built
    h = pickle.loads(pickle.dumps(g))
    assert FakeChecker.built == built
    assert h.filter(Document(ENGLISH, "a")) is True and h.filter(Document(ENGLISH, "b")) is True
    assert FakeChecker.built == built + 1 and h.checker.checked == ["a", "b"]


def test_unreadable_and_crashing_documents_are_quarantined_and_the_batch_goes_on() -> None:
    f = fake_filter(batch_size=3)
    docs = [
        Document(ENGLISH, "good"),
        Document(" \n\t ", "blank"),
        Document(ENGLISH + " explode", "boom"),
        Document(ENGLISH + " odd", "odd", metadata={"title": "An odd headline"}),
        Document(None, "none"),  # type: ignore[arg-type] - a reader that passes no text
    ]
    results = f.filter_batch(docs[:3]) + f.filter_batch(docs[3:])
    assert results[0] is True
    assert results[1] == (False, "quarantine: unreadable: empty text: nothing to check")
    assert results[2] == (False, "quarantine: checker-error: the checker failed: RuntimeError: tensor shape mismatch")
    assert results[3][0] is False and results[3][1].startswith("quarantine: low-fluency: article fluency 30.0")
    assert results[4] == (False, "quarantine: unreadable: the text is NoneType, not a string")
    assert f.checker.checked == ["good", "odd"]  # the batch that crashed was checked again one by one
    for doc in docs:
        record = doc.metadata["mtcheck"]
        assert json.loads(json.dumps(record)) == record
        assert set(record) == {"decision", "reasons", "scores", "model", "policy_sha256"}
        assert record["model"] == {"name": "fake", "sha256": "f" * 64}
        assert record["policy_sha256"] == default_policy().sha256
    assert docs[0].metadata["mtcheck"]["decision"] == "accept" and docs[0].metadata["mtcheck"]["reasons"] == []
    assert docs[0].metadata["mtcheck"]["scores"]["fluency"] == 80.0
    assert docs[1].metadata["mtcheck"]["scores"] is None
    assert docs[3].metadata["mtcheck"]["reasons"][0]["code"] == "low-fluency"


def test_a_source_language_key_routes_documents_to_that_languages_checker() -> None:
    made: dict[str, FakeChecker] = {}

    def for_source(lang):  # the real one (Checker.for_source): the same model, that language's detector
        made[lang] = FakeChecker()
        return made[lang]

    f = fake_filter(source_lang_key="lang", batch_size=4)
    f.checker.for_source = for_source
    docs = [
        Document(ENGLISH, "en"),
        Document(ENGLISH, "ro1", metadata={"lang": "ro"}),
        Document(ENGLISH, "none", metadata={"lang": 7}),  # not a language code: the default detector
        Document(ENGLISH, "ro2", metadata={"lang": " ro "}),
    ]
    assert f.filter_batch(docs) == [True] * 4
    assert f.checker.checked == ["en", "none"] and made["ro"].checked == ["ro1", "ro2"] and set(made) == {"ro"}


def test_bad_settings_fail_at_construction(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="keep=.*accept, quarantine, reject"):
        MTCheckFilter(keep=("acept",))
    with pytest.raises(MtcheckError, match="no such policy file"):
        MTCheckFilter(policy=tmp_path / "missing.toml")
    assert MTCheckFilter(keep="quarantine").keep == ("quarantine",)


def test_without_datatrove_the_import_error_is_one_line() -> None:
    code = "import sys; sys.modules['datatrove'] = None; import mtcheck.gate.datatrove_filter"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: mtcheck's datatrove filter needs datatrove (")
    assert last.endswith("): pip install 'mtcheck[datatrove]'")
    assert "During handling" not in result.stderr


def test_a_pipeline_run_keeps_or_excludes_every_document_once(tmp_path: Path) -> None:
    rows = [
        {"id": "n1", "title": "Wage to rise", "text": ENGLISH},
        {"id": "g1", "text": ENGLISH + " garbled"},
        {"id": "q1", "text": ENGLISH + " odd"},
        {"id": "e1", "text": "   "},  # datatrove's reader skips "" but passes blank text on
        {"id": "x1", "text": ENGLISH + " explode"},
        {"id": "n2", "text": ENGLISH + " More news."},
    ]
    source = write_jsonl(tmp_path / "in", rows)
    kept, excluded, stats = run_pipeline(tmp_path, "default", source, fake_filter(batch_size=2))
    assert sorted(ids(kept) + ids(excluded)) == sorted(r["id"] for r in rows)
    assert ids(kept) == ["n1", "n2"]
    reasons = {r["id"]: r["metadata"]["filter_reason"] for r in excluded}
    assert reasons["g1"].startswith("reject: low-fluency: ")
    assert reasons["e1"] == "quarantine: unreadable: empty text: nothing to check"
    assert reasons["x1"].startswith("quarantine: checker-error: ")
    for r in kept + excluded:
        gate = r["metadata"]["mtcheck"]
        assert gate["decision"] == {"n": "accept", "g": "reject"}.get(r["id"][0], "quarantine")
        if r in excluded:
            first = gate["reasons"][0]
            assert r["metadata"]["filter_reason"] == f"{gate['decision']}: {first['code']}: {first['message']}"
    assert stats["accept"] == 2 and stats["quarantine"] == 3 and stats["reject"] == 1
    assert stats["dropped_quarantine: unreadable"] == 1 and stats["dropped_reject: low-fluency"] == 1
    assert stats["total"] == 6 and stats["forwarded"] == 2 and stats["dropped"] == 4
    # A user who keeps the held items too: only the rejected one is excluded.
    kept, excluded, _ = run_pipeline(tmp_path, "lenient", source, fake_filter(keep=("accept", "quarantine")))
    assert ids(kept) == ["n1", "q1", "e1", "x1", "n2"] and ids(excluded) == ["g1"]


def test_worker_processes_get_the_filter_without_the_model(tmp_path: Path) -> None:
    """tasks=2, workers=2: datatrove sends the pipeline to its worker processes with dill; the filter goes
    without the checker its parent loaded (here one that cannot be pickled) and builds its own there."""
    source = write_jsonl(tmp_path / "in", [{"id": f"a{i}", "text": ENGLISH + " garbled" * (i % 2)} for i in range(4)])
    (source / "more.jsonl").write_text("".join(json.dumps({"id": f"b{i}", "text": ENGLISH}) + "\n" for i in range(3)))
    step = fake_filter(exclusion_writer=JsonlWriter(str(tmp_path / "excluded"), compression=None))
    step._checker = Unpicklable()
    LocalPipelineExecutor(
        [JsonlReader(str(source)), step, JsonlWriter(str(tmp_path / "kept"), compression=None)],
        tasks=2,
        workers=2,
        logging_dir=str(tmp_path / "logs"),
    ).run()
    kept, excluded = read_out(tmp_path / "kept"), read_out(tmp_path / "excluded")
    assert sorted(ids(kept)) == ["a0", "a2", "b0", "b1", "b2"] and sorted(ids(excluded)) == ["a1", "a3"]


# --- the real model: the same decisions as `mtcheck gate` ----------------------------------------------
NEWS = [
    {"id": "wage", "title": "Minimum wage to rise", "text": ENGLISH},
    {
        "id": "talks",
        "title": "Talks end without a deal",
        "text": "Russia demanded guarantees from the alliance on Wednesday. The minister said the United States' "
        "pledge that NATO He will. They no longer accept new members, and the talks would go on next week in "
        "Geneva. Diplomats from both sides said the meeting had been long and difficult, and that no date had "
        "been set for the next round of negotiations between the two delegations.",
    },
    {
        "id": "library",
        "title": "Library reopens after repairs",
        "text": "The town library reopened on Monday after three months of repairs to its roof. Readers queued "
        "outside before the doors opened at nine. The mayor thanked the builders and the volunteers who had moved "
        "thousands of books to a school hall while the work went on. The children's section now has a new reading "
        "room, and the library will stay open late on Thursdays from next month.",
    },
    {"id": "blank", "title": "Only a headline", "text": " \n "},
    {"id": "invade", "text": ENGLISH + " NATO He will. The talks [to invade] By de-escalation ended without a deal."},
    {
        "id": "rain",
        "title": "Heavy rain expected across the north",
        "text": "Heavy rain is expected across the north of the country this weekend, forecasters said on Friday. "
        "Rivers could burst their banks in some valleys, and drivers were told to avoid flooded roads. The weather "
        "service issued an amber warning for Saturday and Sunday, and schools in two districts said they would "
        "close early on Friday afternoon so that pupils could get home safely.",
    },
]


class Recording:
    """The gate's checker, keeping each report by the text it checked."""

    def __init__(self, checker) -> None:
        self.checker = checker
        self.lm = checker.lm
        self.reports: dict[str, object] = {}

    def check(self, article):
        self.reports[article.text] = report = self.checker.check(article)
        return report


@pytest.mark.model
def test_the_filter_decides_each_document_as_the_gate_decides_it(tmp_path: Path) -> None:
    from mtcheck.gate.run import FeedGate, iter_jsonl
    from mtcheck.pipeline import Checker

    source = write_jsonl(tmp_path / "in", NEWS)
    kept, excluded, stats = run_pipeline(tmp_path, "model", source, MTCheckFilter())
    assert sorted(ids(kept) + ids(excluded)) == sorted(r["id"] for r in NEWS)
    assert len(set(ids(kept) + ids(excluded))) == len(NEWS)
    ours = {r["id"]: r["metadata"]["mtcheck"] for r in kept + excluded}

    # `mtcheck gate` over the same feed, with its own checker (the CLI's settings).
    recording = Recording(Checker(corrections=False, correct_from="major"))
    gate = FeedGate(tmp_path / "gate", default_policy(), recording.lm.name, recording.lm.sha256, lambda: recording)
    with (source / "news.jsonl").open("rb") as f:
        gate.run(iter_jsonl(io.BytesIO(f.read()), "news.jsonl", "news"))
    gate.close()
    decided = [tmp_path / "gate" / f"{d}.jsonl" for d in OUT_FOLDER.values()]
    theirs = {r["id"]: r["mtcheck"] for path in decided if path.exists() for r in map(json.loads, path.open())}
    assert set(theirs) == set(ours)
    for doc_id, gate_record in theirs.items():
        mine = ours[doc_id]
        assert mine["decision"] == gate_record["decision"], doc_id
        assert [r["code"] for r in mine["reasons"]] == [r["code"] for r in gate_record["reasons"]], doc_id
        assert mine["model"] == gate_record["model"] and mine["policy_sha256"] == gate_record["policy_sha256"]
        if doc_id != "blank":  # checked one at a time by the same model: the same report, the same figures
            assert mine["reasons"] == gate_record["reasons"] and mine["scores"] == gate_record["scores"], doc_id

    # Clean news kept; the garbled ones excluded with the gate's reason; the blank one quarantined, never lost.
    assert sorted(ids(kept)) == ["library", "rain", "wage"]
    reasons = {r["id"]: r["metadata"]["filter_reason"] for r in excluded}
    assert set(reasons) == {"talks", "invade", "blank"}
    for doc_id in ("talks", "invade"):
        assert ours[doc_id]["decision"] in ("quarantine", "reject")
        first = ours[doc_id]["reasons"][0]
        assert reasons[doc_id] == f"{ours[doc_id]['decision']}: {first['code']}: {first['message']}"
        assert "NATO He will" in reasons[doc_id]
    assert reasons["blank"] == "quarantine: unreadable: empty text: nothing to check"
    assert stats["accept"] == 3 and stats["total"] == 6

    # keep=("accept", "quarantine") on the same reports (the gate's, replayed: no second pass of the model).
    class Replay:
        lm = recording.lm

        def check(self, article):
            return recording.reports[article.text]

    lenient = MTCheckFilter(keep=("accept", "quarantine"))
    lenient._make_checker = Replay
    kept, excluded, _ = run_pipeline(tmp_path, "lenient", source, lenient)
    held = {i for i, g in ours.items() if g["decision"] == "quarantine"}
    assert "blank" in held and held & {"talks", "invade"}
    assert sorted(ids(kept)) == sorted({"library", "rain", "wage"} | held)
    assert sorted(ids(excluded)) == sorted(i for i, g in ours.items() if g["decision"] == "reject")
