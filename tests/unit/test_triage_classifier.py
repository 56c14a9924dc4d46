"""The triage classifier shipped in the package, measured on texts it was never trained on.

Thresholds: on held-out texts from templates seen in training (new fillings, new noise) the
shipped model scores 1.000 macro F1 (docs/triage.md); 0.95 leaves room for a retrained model
without letting a broken one pass. On texts from templates never used in training it scores
0.783 accuracy over ten labels and 0.989 on damage yes/no; the test asks 0.70 and 0.95. Damage
yes/no is the figure that matters most: in 2022, 67.8 % of reports were not claims and were read
by hand, so that split is what saves reviewers' time.
"""

from __future__ import annotations

import pytest

from makegood.adapters.text.corpus import DEFAULT_SEED, generate, split, unseen_templates
from makegood.adapters.text.model import TriageModel
from makegood.adapters.text.train import UNSEEN_SIZE, evaluate
from makegood.domain.claims import Category
from makegood.domain.triage import Label


@pytest.fixture(scope="module")
def model() -> TriageModel:
    return TriageModel.load()


def test_corpus_is_the_same_for_the_same_seed_and_has_at_least_3000_texts():
    first, second = generate(), generate()
    assert len(first) >= 3000
    assert first == second
    assert {e.label for e in first} == set(Label)


def test_held_out_texts_are_not_training_texts():
    train, held_out = split(generate())
    assert len(held_out) >= 600
    assert not {e.text for e in train} & {e.text for e in held_out} - {"테스트", "test", "."}


def test_unseen_templates_are_never_in_the_training_pool():
    seen = generate(2000, pool="seen")
    for e in seen:
        label, language, index = e.template.split("/")
        lang = "en" if language == "en" else "ko"
        assert int(index) not in unseen_templates(Label(label), lang, seed=DEFAULT_SEED)


def test_held_out_texts_from_seen_templates_macro_f1_at_least_095(model):
    _, held_out = split(generate())
    by_label, damage = evaluate(model, held_out)
    assert by_label.macro_f1 >= 0.95
    assert damage.accuracy >= 0.97


def test_texts_from_unseen_templates_damage_accuracy_at_least_095(model):
    by_label, damage = evaluate(model, generate(UNSEEN_SIZE, pool="unseen"))
    assert damage.accuracy >= 0.95
    assert by_label.accuracy >= 0.70


@pytest.mark.parametrize(("text", "label"), [
    ("다음 메일로 면접 안내 받기로 했는데 메일이 반송돼서 면접을 놓쳤어요", Label.MISSED_COMMUNICATION),
    ("I couldn't log in to Upbit with Kakao login and lost 300,000 KRW", Label.PARTNER_LOGIN),
    ("카톡채널로 주문받는 꽃집인데 주말 sales 다 날아감 매출손실 50만원", Label.BUSINESS_SALES),
    ("보상은 언제 받을 수 있나요?", Label.QUESTION),
    ("직원분들 밤새 고생하셨어요 힘내세요!!", Label.ENCOURAGEMENT),
])
def test_korean_english_and_mixed_texts_get_their_label(model, text, label):
    prediction = model.predict([text])[0]
    assert prediction.label is label
    assert prediction.drivers  # the words that drove it


def test_drivers_are_words_of_the_text(model):
    prediction = model.predict(["카카오페이 결제가 안 돼서 편의점에서 결제를 못 했어요"])[0]
    assert prediction.label is Label.PAYMENT_FAILED
    assert prediction.category == Category.PAYMENT_FAILED.value
    assert prediction.damage
    assert "결제" in prediction.drivers[:3]


def test_a_non_claim_has_no_damage_and_category_other(model):
    prediction = model.predict(["접수 마감이 언제까지예요?"])[0]
    assert not prediction.damage
    assert prediction.category == "other"


def test_the_model_file_round_trips(model, tmp_path):
    path = tmp_path / "m.json.gz"
    model.dump(path)
    again = TriageModel.load(path)
    assert again.vocabulary == model.vocabulary
    assert path.read_bytes() == (again.dump(tmp_path / "n.json.gz") or
                                 (tmp_path / "n.json.gz").read_bytes())
