"""`build_teacher`: the backend a `TeacherSpec` describes (the backends import `training.teacher`, never this)."""

from .teacher import Decoding, Teacher, TeacherSpec


def _options(spec: TeacherSpec, allowed: set[str]) -> dict:
    unknown = sorted(set(spec.options) - allowed)
    if unknown:
        raise ValueError(
            f"unknown option(s) {unknown} for a {spec.backend} teacher; known: {sorted(allowed)}"
        )
    return dict(spec.options)


def build_teacher(spec: TeacherSpec) -> Teacher:
    """The backend a spec describes. Heavy imports (torch) happen only for the transformers backend."""
    decoding = Decoding.from_dict(spec.decoding)
    if spec.backend == "openai":
        from .teacher_openai import OpenAITeacher

        options = _options(spec, {"max_in_flight", "timeout_s", "max_retries", "backoff_s"})
        return OpenAITeacher(
            base_url=spec.base_url,
            model=spec.model,
            decoding=decoding,
            endpoint=spec.endpoint,
            api_key_env=spec.api_key_env,
            **options,
        )
    if spec.backend == "transformers":
        from .teacher_transformers import TransformersTeacher

        options = _options(spec, {"batch_size", "device", "dtype", "prompt_format", "cache_dir", "threads"})
        return TransformersTeacher(spec.model, decoding, **options)
    from .teacher_recorded import RecordedTeacher

    _options(spec, set())
    return RecordedTeacher(spec.model)
