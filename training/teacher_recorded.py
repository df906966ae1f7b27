"""A teacher whose outputs were produced elsewhere: read from a JSONL file keyed by question id.

The file is in the recorded layout of `teacher_llama2_*.jsonl` (one object per question with `explanation`,
`critique`, `revised_explanation`, `option_explanations`) or holds output records of another generation;
`teacher_outputs.read_teacher_file` reads both. A request for an output the file lacks fails alone, naming
the file, the question and the missing field.
"""

import hashlib
from collections.abc import Sequence
from pathlib import Path

from .cqa import LABELS
from .prompts import Prompt
from .teacher import AnswerHook, Completion, TeacherRequest
from .teacher_outputs import load_teacher_explanations


class RecordedTeacher:
    keyed_by_question = True
    preferred_batch = 256
    concurrent_calls = 1

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.outputs = load_teacher_explanations([self.path])
        self.sha256 = hashlib.sha256(self.path.read_bytes()).hexdigest()

    def describe(self) -> dict:
        return {"backend": "recorded", "model": str(self.path), "sha256": self.sha256}

    def render(self, prompt: Prompt) -> str:
        return prompt.as_text()

    def complete(
        self, requests: Sequence[TeacherRequest], on_answer: AnswerHook | None = None
    ) -> list[Completion]:
        completions = [self._lookup(request) for request in requests]
        if on_answer is not None:
            for index, completion in enumerate(completions):
                on_answer(index, completion)
        return completions

    def close(self) -> None:
        pass

    def _lookup(self, request: TeacherRequest) -> Completion:
        entry = self.outputs.get(request.question_id)
        if request.kind == "option_explanation":
            options = entry.option_explanations if entry else None
            index = LABELS.index(request.option_label)
            text = options[index] if options and index < len(options) else None
            missing = f"option_explanations[{request.option_label}]"
        else:
            text = getattr(entry, request.kind) if entry else None
            missing = request.kind
        if text is None:
            return Completion(error=f"{self.path.name} has no {missing} for question {request.question_id}")
        return Completion(text=text)
