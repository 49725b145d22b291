"""The learned tagger: word alignment, source-language calibration, the weights' integrity, and that the shipped
weights separate BAD from OK words on real annotated MT."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from mtcheck.core.errors import MtcheckError
from mtcheck.core.metrics import platt as calibrate
from mtcheck.evaluate.data import default_eval_dir, source_of
from mtcheck.models import DETECTOR_DIR
from mtcheck.signals.tagger import encode_words

EVAL = default_eval_dir()


def test_source_language_is_read_from_data_set_names():
    assert source_of("mlqe-pe.ro-en.dev.jsonl") == "ro"
    assert source_of("/data/wmt22qe.zh-en.dev2022.jsonl") == "zh"
    assert source_of("mlqe-pe.et-en") == "et"
    assert source_of("feed.jsonl") is None
    assert source_of("open-ended.txt") is None


def test_calibration_is_monotone_and_bounded():
    p = calibrate(np.array([-100.0, -1.0, 0.0, 1.0, 100.0]), [1.2, -0.5])
    assert np.all(np.diff(p) > 0) and p[0] >= 0.0 and p[-1] <= 1.0


@pytest.mark.model
def test_each_word_is_read_at_its_first_word_piece():
    from transformers import AutoTokenizer

    from mtcheck.lm.store import resolve

    tokenizer = AutoTokenizer.from_pretrained(resolve("minilm-l6").path)
    text = "NATO He will, unbelievably, accept 100,000 members."
    spans = [(m.start(), m.end()) for m in __import__("re").finditer(r"\w+|[^\w\s]", text)]
    enc = encode_words(tokenizer, text, spans)
    pieces = tokenizer.convert_ids_to_tokens(enc.input_ids)
    assert len(enc.word_index) == len(spans)
    for (a, b), k in zip(spans, enc.word_index, strict=True):
        word = text[a:b].lower()
        assert k > 0 and word.startswith(pieces[k].lstrip("#")), (word, pieces[k])
    assert enc.word_index == sorted(enc.word_index)  # left to right, one piece per word


@pytest.mark.model
def test_weights_that_do_not_match_their_recorded_hash_are_refused(lm, tmp_path, monkeypatch):
    import mtcheck.detect.detector as detecting
    import mtcheck.detect.profile as profile

    params = json.loads((DETECTOR_DIR / f"{lm.name}.json").read_text())
    (tmp_path / f"{lm.name}.json").write_text(json.dumps(params))
    shutil.copy(DETECTOR_DIR / params["weights"], tmp_path / params["weights"])
    with open(tmp_path / params["weights"], "r+b") as f:
        f.seek(-4, 2)
        f.write(b"\x00\x01\x02\x03")
    monkeypatch.setattr(profile, "DETECTOR_DIR", tmp_path)
    with pytest.raises(MtcheckError, match="do not match the sha256"):
        detecting.Detector(lm)


@pytest.mark.model
def test_a_known_source_language_uses_its_own_calibration(lm):
    from mtcheck.detect.detector import Detector

    params = json.loads((DETECTOR_DIR / f"{lm.name}.json").read_text())
    detector = Detector(lm, source_lang="zh")
    own = params["by_source"]["zh"].get("specialist") or params["by_source"]["zh"]
    assert detector.learned_meta["threshold"] == own["threshold"]
    assert detector.learned_meta["platt"] == own["platt"]
    detector.use_source("xx")  # no dev data for it: the pooled calibration
    assert detector.learned_meta["threshold"] == params["threshold"]
    assert detector.learned_meta["source_lang"] is None
    assert "source:any" in detector.signature().short()


@pytest.mark.model
def test_a_specialist_reads_lines_of_its_source_and_the_pooled_tagger_reads_articles(lm):
    """The specialist's logits differ from the pooled tagger's on the same line; an article is read by the
    pooled tagger whatever the source; the signature names the specialist."""
    from mtcheck.detect.detector import Detector
    from mtcheck.reading.formats import line_article

    params = json.loads((DETECTOR_DIR / f"{lm.name}.json").read_text())
    special = params["by_source"]["et"]["specialist"]
    detector = Detector(lm, source_lang="et")
    assert detector.line_tagger is not detector.learned
    assert "+" + special["weights_sha256"][:12] in detector.signature().short()
    line = "The the committee have decided to postponing the vote until next of week ."
    article = line_article(line, 0, "t")
    scores = lm.score_units([article.text], layers=detector.state_layers).article([0])
    specialist = detector.detect(article, scores).word_bad
    detector.use_source(None)
    assert detector.line_tagger is detector.learned
    pooled = detector.detect(article, scores).word_bad
    assert [w[:2] for w in specialist] == [w[:2] for w in pooled]
    assert [round(w[2], 4) for w in specialist] != [round(w[2], 4) for w in pooled]
    assert [round(w[3], 4) for w in specialist] == [round(w[3], 4) for w in pooled]  # severity scale: pooled


@pytest.mark.model
@pytest.mark.skipif(
    not (EVAL / "mlqe-pe.ro-en.dev.jsonl").exists(), reason="no eval data (../shared/eval or $MTCHECK_EVAL_DIR)"
)
def test_shipped_tagger_rates_bad_words_above_ok_words_on_dev(lm):
    """On 80 real ro-en dev sentences, words the post-editors changed get a clearly higher P(BAD)."""
    from mtcheck.detect.detector import Detector
    from mtcheck.evaluate.data import load
    from mtcheck.signals.features import word_features

    detector = Detector(lm, source_lang="ro")
    items = load(EVAL / "mlqe-pe.ro-en.dev.jsonl", 80)
    scores = lm.score_many([it.text for it in items])
    rows = [
        (it.text, it.spans, word_features(it.text, it.spans, s, detector.unigram))
        for it, s in zip(items, scores, strict=True)
    ]
    probs = np.concatenate([calibrate(z, detector.learned_meta["platt"]) for z in detector.learned.predict(rows)])
    tags = np.concatenate([np.asarray(it.tags, bool) for it in items])
    assert probs[tags].mean() > probs[~tags].mean() + 0.15
    # calibrated: the mean predicted P(BAD) is near the true BAD rate
    assert abs(probs.mean() - tags.mean()) < 0.08


@pytest.mark.model
def test_lm_word_states_are_read_at_each_words_last_piece(lm):
    text = "Unbelievably, NATO accepted members."
    spans = [(0, 12), (12, 13), (14, 18), (19, 27), (28, 35), (35, 36)]
    (states,) = lm.word_states([text], [spans], (10, 30))
    assert states.shape == (len(spans), 2 * lm.model.config.hidden_size)
    assert np.all(np.abs(states).sum(1) > 0)
    # the same sentence in a batch with a longer one (padding) gives the same states
    longer = "A much longer sentence that pads the batch well beyond the first one, with more words."
    batched = lm.word_states([text, longer], [spans, [(0, 1)]], (10, 30))[0]
    assert np.allclose(states.astype(np.float32), batched.astype(np.float32), atol=0.05)


@pytest.mark.model
def test_a_tagger_widened_for_lm_states_starts_as_the_tagger_it_grew_from(lm):
    """Zero weights for the new inputs: whatever the LM states say, the widened net gives the pooled logits."""
    from mtcheck.lm.unigram import UnigramTable
    from mtcheck.signals.features import word_features
    from mtcheck.signals.tagger import LMStates, Tagger

    params = json.loads((DETECTOR_DIR / f"{lm.name}.json").read_text())
    pooled = Tagger(params, DETECTOR_DIR / params["weights"])
    config = LMStates((10, 20, 30), True, 64, lm.model.config.hidden_size)
    widened = Tagger(params, DETECTOR_DIR / params["weights"], lm_states=config)
    text = "The the committee have decided to postponing the vote ."
    spans = [(m.start(), m.end()) for m in __import__("re").finditer(r"\S+", text)]
    rows = [(text, spans, word_features(text, spans, lm.score(text), UnigramTable.load(lm.name)))]
    states = lm.word_states([text], [spans], config.layers)
    assert config.rows(states[0]).shape == (len(spans), config.width)
    assert np.allclose(widened.predict(rows, states)[0], pooled.predict(rows)[0], atol=1e-4)
    with pytest.raises(ValueError, match="word states"):
        widened.predict(rows)
    # the word-context convolution also starts at zero: still the pooled logits
    with_context = Tagger(params, DETECTOR_DIR / params["weights"], lm_states=config, context=9)
    assert np.allclose(with_context.predict(rows, states)[0], pooled.predict(rows)[0], atol=1e-4)


@pytest.mark.model
def test_the_et_specialist_averages_its_members_and_checks_each_ones_hash(lm, tmp_path, monkeypatch):
    """The shipped et specialist is an ensemble: its logits are the mean of its members' (each member alone gives
    other logits), and a member whose bytes do not match its recorded hash is refused."""
    import mtcheck.detect.detector as detecting
    import mtcheck.detect.profile as profile
    from mtcheck.detect.detector import Detector
    from mtcheck.reading.formats import line_article
    from mtcheck.signals.tagger import TaggerEnsemble

    params = json.loads((DETECTOR_DIR / f"{lm.name}.json").read_text())
    special = params["by_source"]["et"]["specialist"]
    assert len(special["members"]) >= 2
    detector = Detector(lm, source_lang="et")
    ensemble = detector.line_tagger
    assert isinstance(ensemble, TaggerEnsemble) and len(ensemble.members) == len(special["members"])
    article = line_article("The the committee have decided to postponing the vote until next of week .", 0, "t")
    rows = [(article.text, [(0, 3), (4, 7), (8, 17)], np.zeros((3, len(ensemble.members[0].mean)), np.float32))]
    states = lm.word_states([article.text], [rows[0][1]], ensemble.lm_states.layers)
    each = [m.predict(rows, states)[0] for m in ensemble.members]
    assert np.allclose(ensemble.predict(rows, states)[0], np.mean(each, 0), atol=1e-5)
    assert not np.allclose(each[0], each[1], atol=1e-3)

    for name in {params["weights"]} | {m["weights"] for m in special["members"]}:
        shutil.copy(DETECTOR_DIR / name, tmp_path / name)
    (tmp_path / f"{lm.name}.json").write_text(json.dumps(params))
    with open(tmp_path / special["members"][-1]["weights"], "r+b") as f:
        f.seek(-4, 2)
        f.write(b"\x00\x01\x02\x03")
    monkeypatch.setattr(profile, "DETECTOR_DIR", tmp_path)
    detector = detecting.Detector(lm)  # the pooled tagger is intact
    with pytest.raises(MtcheckError, match="do not match the sha256"):
        detector.use_source("et")


def test_a_sentence_reads_the_same_to_the_tagger_wherever_it_stands_in_the_article(checker):
    """The tagger reads each sentence of an article alone, as it was trained: a sentence at the end of a long article
    gets the P(BAD) it gets at the start. (It once read the article's first 192 word pieces for every sentence, so
    the words of every later sentence all read as [CLS].)"""
    from mtcheck.reading.formats import text_article

    target = "The United States' pledge that NATO He will. They no longer accept new members."
    filler = " ".join(
        f"The council met on day {n} to discuss the budget, the new school and the roads in the northern district."
        for n in range(1, 13)
    )  # about 250 word pieces: past the encoder's 192
    first = checker.check(text_article(f"Talks in Geneva\n\n{target}\n\n{filler}"))
    last = checker.check(text_article(f"Talks in Geneva\n\n{filler}\n\n{target}"))

    def bad_of(report):
        text = report.text
        return [s.predicted_bad for s in report.segments if s.scored and text[s.start : s.end] in target]

    assert len(bad_of(first)) == 2 and bad_of(first) == pytest.approx(bad_of(last), abs=0.02)
