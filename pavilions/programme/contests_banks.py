"""Question banks: checking questions, creating a bank from JSON or from a CSV file, and a CSV-safe cell."""
import csv
import io
import secrets

from expo.errors import Invalid
from expo.extensions import db
from pavilions.programme.models_contests import KINDS, Question, QuestionBank

LETTERS = "abcdef"
CSV_COLUMNS = ("kind", "text", *(f"option_{letter}" for letter in LETTERS), "correct", "explanation")
MAX_QUESTIONS = 500
TRUEFALSE_TEXTS = ("正确 / True", "错误 / False")


class BankErrors(Invalid):
    """A bank with faulty questions; `errors` holds one sentence per faulty row."""

    def __init__(self, errors):
        super().__init__(" ".join(errors[:20]), code="invalid_questions")
        self.errors = errors


def option_id():
    """Return a random option id: it must not tell which option is right, nor where it stood."""
    return secrets.token_urlsafe(6)


def clean_question(data):
    """Return (kind, text, explanation, options) for one question given as JSON, or raise ValueError."""
    if not isinstance(data, dict):
        raise ValueError("send each question as an object")
    kind, text = data.get("kind"), data.get("text")
    if kind not in KINDS:
        raise ValueError(f"'kind' must be one of {', '.join(KINDS)}")
    if not isinstance(text, str) or not text.strip() or len(text) > 2000:
        raise ValueError("the question needs a 'text' of 1 to 2,000 characters")
    explanation = data.get("explanation") or ""
    if not isinstance(explanation, str) or len(explanation) > 4000:
        raise ValueError("'explanation' must be text of at most 4,000 characters")
    options = data.get("options")
    if not isinstance(options, list) or not all(isinstance(o, dict) for o in options):
        raise ValueError("'options' must be a list of {\"text\", \"correct\"}")
    cleaned = [{"text": str(o.get("text") or "").strip(), "correct": o.get("correct") is True} for o in options]
    _check_options(kind, cleaned)
    return kind, text.strip(), explanation.strip(), [{"id": option_id(), **o} for o in cleaned]


def _check_options(kind, options):
    if not 2 <= len(options) <= len(LETTERS) or any(not o["text"] or len(o["text"]) > 500 for o in options):
        raise ValueError(f"a question needs 2 to {len(LETTERS)} options, each with a text of at most 500 characters")
    right = sum(o["correct"] for o in options)
    if kind == "truefalse" and len(options) != 2:
        raise ValueError("a true/false question has exactly two options")
    if kind in ("single", "truefalse") and right != 1:
        raise ValueError(f"a {kind} question has exactly one correct option")
    if kind == "multiple" and right < 1:
        raise ValueError("a multiple-choice question needs at least one correct option")


def create_bank(actor, title, questions):
    """Create a bank of QUESTIONS (JSON form); raise BankErrors naming every faulty question."""
    if not isinstance(title, str) or not title.strip() or len(title) > 200:
        raise Invalid("A question bank needs a title of 1 to 200 characters.", code="invalid_title")
    if not isinstance(questions, list) or not 1 <= len(questions) <= MAX_QUESTIONS:
        raise Invalid(f"Send 1 to {MAX_QUESTIONS} questions.", code="invalid_questions")
    rows, errors = [], []
    for number, data in enumerate(questions, start=1):
        try:
            rows.append(clean_question(data))
        except ValueError as error:
            errors.append(f"Question {number}: {error}.")
    if errors:
        raise BankErrors(errors)
    return _save(actor, title.strip(), rows)


def _save(actor, title, rows):
    bank = QuestionBank(title=title, created_by=actor.id)
    db.session.add(bank)
    for position, (kind, text, explanation, options) in enumerate(rows):
        db.session.add(Question(bank=bank, position=position, kind=kind, text=text, explanation=explanation,
                                options=options))
    db.session.flush()
    return bank


def import_csv(actor, title, data):
    """Create a bank from CSV bytes or text (columns CSV_COLUMNS); raise BankErrors with one sentence per bad row."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Invalid("Save the CSV file as UTF-8 and upload it again.", code="csv_encoding") from None
    reader = csv.DictReader(io.StringIO(data))
    missing = [c for c in ("kind", "text", "correct") if c not in (reader.fieldnames or [])]
    if missing:
        raise Invalid(f"The CSV file lacks the column(s) {', '.join(missing)}; its header must name "
                      f"{', '.join(CSV_COLUMNS)}.", code="csv_columns")
    questions, errors = [], []
    for line, row in enumerate(reader, start=2):
        try:
            questions.append(clean_question(_row_question(row)))
        except ValueError as error:
            errors.append(f"Row {line}: {error}.")
    if errors:
        raise BankErrors(errors)
    if not questions:
        raise Invalid("The CSV file has no question rows.", code="csv_empty")
    if not isinstance(title, str) or not title.strip():
        raise Invalid("A question bank needs a title.", code="invalid_title")
    return _save(actor, title.strip()[:200], questions)


def add_question(actor, bank_id, new_title, row):
    """Add one question written in the curator's form (the CSV's columns) to bank BANK_ID, or to a new bank
    NEW_TITLE; return the bank. A question already in use keeps its attempts: banks only grow."""
    try:
        kind, text, explanation, options = clean_question(_row_question(row))
    except ValueError as error:
        raise Invalid(f"The question was not added: {error}.", code="invalid_question") from None
    if bank_id:
        bank = db.session.get(QuestionBank, bank_id)
        if bank is None:
            raise Invalid("No question bank has this id.", code="unknown_bank")
    else:
        if not isinstance(new_title, str) or not new_title.strip() or len(new_title) > 200:
            raise Invalid("Choose a bank, or give the new bank a title of 1 to 200 characters.", code="invalid_title")
        bank = QuestionBank(title=new_title.strip(), created_by=actor.id)
        db.session.add(bank)
    db.session.add(Question(bank=bank, position=len(bank.questions), kind=kind, text=text, explanation=explanation,
                            options=options))
    db.session.flush()
    return bank


def _row_question(row):
    kind = (row.get("kind") or "").strip().lower()
    correct = {c.strip().lower() for c in (row.get("correct") or "").replace(",", ";").split(";") if c.strip()}
    if kind == "truefalse":
        if correct not in ({"true"}, {"false"}):
            raise ValueError("'correct' of a true/false question is 'true' or 'false'")
        options = [{"text": TRUEFALSE_TEXTS[0], "correct": correct == {"true"}},
                   {"text": TRUEFALSE_TEXTS[1], "correct": correct == {"false"}}]
    else:
        texts = [(letter, (row.get(f"option_{letter}") or "").strip()) for letter in LETTERS]
        texts = [(letter, text) for letter, text in texts if text]
        unknown = correct - {letter for letter, _t in texts}
        if unknown:
            raise ValueError(f"'correct' names {', '.join(sorted(unknown)).upper()}, which has no option text")
        options = [{"text": text, "correct": letter in correct} for letter, text in texts]
    return {"kind": kind, "text": row.get("text") or "", "explanation": row.get("explanation") or "",
            "options": options}


def csv_safe(value):
    """Return VALUE as a CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
