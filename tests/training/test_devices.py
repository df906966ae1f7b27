"""Which CPUs count as computing bf16 natively (the demo trains its pretrained students in bf16 on them)."""

from training.devices import cpu_bf16


def test_a_cpu_is_bf16_capable_when_its_flags_name_avx512_bf16_or_amx_bf16(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    for flags, expected in (
        ("fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni", True),
        ("fpu sse2 avx2 amx_tile amx_bf16", True),
        ("fpu sse2 avx2 avx512f", False),
    ):
        cpuinfo.write_text(f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: {flags}\n\n")
        assert cpu_bf16(cpuinfo) is expected, flags
    assert cpu_bf16(tmp_path / "missing") is False  # not Linux, or no /proc: float32
