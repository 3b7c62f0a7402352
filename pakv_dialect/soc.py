"""SPEC section 4 as data: which chips run the operator, with what, on what hardware.

The verifier, the host API, the lowering (UB capacity, core count, event ids), the
AscendC printer (kernel type, the APIs it may emit) and the cost model all read this
one table. Every number carries its source beside it. Sources, cited by short name:

* ``SPEC §4``: ``../shared/spec/SPEC.md`` section 4 (support table, public figures).
* ``constants.h``: mirror-cann/asc-devkit ``impl/basic_api/utils/kernel_utils_constants.h``,
  the ``__NPU_ARCH__`` branches of ``TOTAL_UB_SIZE`` and ``TMP_UB_OFFSET``.
* ``arch table``: CANN 8.5.0 Ascend C guide, "SIMD BuiltIn关键字和API"
  (hiascend.com ``atlas_ascendc_10_00044``) and ``GetCurNpuArch``
  (``atlasascendc_api_07_00199``): Atlas A2/A3 = 2201, 200I/500 A2 = 3002, inference
  series = 2002, training series = 1001, Ascend 950 = 3510.
* ``SetFlag doc``: "SetFlag/WaitFlag(ISASI)" (hiascend.com ``atlasascendc_api_07_0270``,
  CANN 9.0.0 beta): eventID 0-3 on the training series, 0-7 elsewhere; not supported on
  Atlas 200I/500 A2 nor on the inference series' Vector Core.
* ``AllocEventID doc``: hiascend.com ``atlasascendc_api_07_0114``: not on 200I/500 A2.
* ``kernel type doc``: "设置Kernel类型" (hiascend.com ``atlasascendc_api_07_0218``, CANN
  8.5.0; asc-devkit ``docs/zh/api/SIMD-API/基础API/Kernel-Tiling/设置Kernel类型.md``):
  supported on Ascend 950, A3, A2 and the inference series' AI Core; not on 200I/500 A2
  nor the training series. CANN 8.0.RC2's page (``atlasascendc_api_07_0212``):
  ``KERNEL_TYPE_AIV_ONLY`` is for A2 and not for the inference series' AI Core, where
  ``KERNEL_TYPE_AICORE`` starts AI Cores only. The vendor's own kernels declare
  ``KERNEL_TYPE_AIV_ONLY`` (ops-transformer ``attention/gather_pa_kv_cache/op_kernel/
  gather_pa_kv_cache.cpp`` for A2/A3, ``gather_pa_kv_cache_apt.cpp`` for Ascend 950).
* ``DataCopyPad doc``: "DataCopyPad(ISASI)" (hiascend.com ``atlasascendc_api_07_0265``):
  A2, A3, 200I/500 A2 and Ascend 950; not the inference nor the training series.
* ``VENDOR``: ``../shared/spec/VENDOR_KERNELS.md`` (CANN platform figures quoted there).
* ``ini``: CANN ``platform_config/<SoC>.ini`` as public notes quote it (not read here: no
  toolkit on this machine): Ascend950PR ``[VectorCoreSpec] vec_freq=1650``,
  ``vector_core_cnt=64``, ``[VectorCoreMemoryRates] ddr_rate=16`` (bytes per cycle per
  vector core: 64 x 16 B x 1.65 GHz = 1.69 TB/s, the HBM figure within 6%); Ascend910B1/B4
  ``[AICoreMemoryRates] ddr_rate=32`` per AI core (24 x 32 B x 1.85 GHz = 1.42 TB/s).
* ``align doc``: CANN 8.5.0 best practices, "Using 512-Byte Alignment for the GM Address"
  (hiascend.com ``atlas_ascendc_best_practices_10_0014``): a single core moving data from
  32-byte aligned GM addresses reaches, in the worst case, 70% of the bandwidth of
  512-byte aligned ones; "takes effect only for the Atlas A2 training / inference
  products".
* ``Cast doc``: asc-devkit ``docs/zh/api/SIMD-API/基础API/Memory矢量计算/类型转换/Cast.md``
  (mirror-cann/asc-devkit): the (src, dst, roundMode) combinations ``Cast`` supports,
  one table per product; ``CAST_NONE`` rounds like ``CAST_RINT`` (to nearest even) when
  the conversion loses precision and does not round otherwise
  (``docs/zh/api/SIMD-API/基础API/数据结构/precision_conversion.md``, table 1). Only
  the pairs a fused dequantisation or quantisation can use are listed here, with the two
  modes it may use (``none``, ``rint``); ``float -> float`` with ``CAST_RINT`` rounds to
  an integer (a quantising body's ``math.roundeven``; the inference and training series
  have no such ``Cast``, so they do not quantise to int8 exactly).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pakv_dialect.dtypes import ElementKind


class CastRound(StrEnum):
    """The AscendC ``RoundMode`` values a fused consumer's casts use (Cast doc)."""

    NONE = "CAST_NONE"
    """Exact conversions; round to nearest even when precision is lost."""
    RINT = "CAST_RINT"
    """Round to nearest, ties to even."""


CastTable = tuple[tuple[str, str, frozenset[CastRound]], ...]
"""(source kind, target kind, the round modes AscendC ``Cast`` takes for it) rows."""


def _casts(*rows: tuple[str, str, str]) -> CastTable:
    """``("int8", "fp16", "none rint")`` rows as a :data:`CastTable`."""
    return tuple(
        (source, target, frozenset(CastRound[mode.upper()] for mode in modes.split()))
        for source, target, modes in rows
    )


_A2_A3_CASTS = _casts(  # Cast doc: the Atlas A2 and A3 tables (identical for these pairs)
    ("int8", "fp16", "none"), ("uint8", "fp16", "none"), ("int16", "fp16", "rint none"),
    ("int16", "fp32", "none"), ("fp16", "fp32", "none"), ("bf16", "fp32", "none"),
    ("int32", "fp32", "rint none"), ("fp32", "fp16", "rint none"), ("fp32", "bf16", "rint"),
    ("fp16", "int8", "rint none"), ("fp32", "fp32", "rint"),
)  # fmt: skip
_950_CASTS = _casts(  # Cast doc: the Ascend 950PR/950DT table
    ("int8", "fp16", "none"), ("int8", "int16", "none"), ("int8", "int32", "none"),
    ("uint8", "fp16", "none"), ("uint8", "uint16", "none"), ("uint8", "uint32", "none"),
    ("hifloat8", "fp16", "none"), ("hifloat8", "fp32", "none"),
    ("fp8_e5m2", "fp32", "none"), ("fp8_e4m3fn", "fp32", "none"),
    ("int16", "fp16", "rint"), ("int16", "int32", "none"), ("int16", "fp32", "none"),
    ("uint16", "uint32", "none"), ("fp16", "fp32", "none"), ("fp16", "bf16", "rint"),
    ("bf16", "fp16", "rint"), ("bf16", "fp32", "none"), ("int32", "fp32", "rint"),
    ("fp32", "fp16", "rint none"), ("fp32", "bf16", "rint"),
    ("fp16", "int8", "rint"), ("fp32", "fp8_e5m2", "rint"), ("fp32", "fp8_e4m3fn", "rint"),
    ("fp32", "fp32", "rint"),
)  # fmt: skip
_310B_CASTS = _casts(  # Cast doc: the Atlas 200I/500 A2 table
    ("int8", "fp16", "none"), ("uint8", "fp16", "none"), ("int16", "fp16", "rint none"),
    ("int16", "fp32", "none"), ("fp16", "fp32", "none"), ("bf16", "fp32", "none"),
    ("int32", "fp32", "rint none"), ("fp32", "fp16", "rint none"), ("fp32", "bf16", "rint"),
    ("fp16", "int8", "rint none"), ("fp32", "fp32", "rint"),
)  # fmt: skip
_INFERENCE_TRAINING_CASTS = _casts(  # Cast doc: the inference series AI Core / training series
    ("int8", "fp16", "none"), ("uint8", "fp16", "none"), ("int16", "fp16", "none"),
    ("fp16", "fp32", "none"), ("int32", "fp32", "none"), ("fp32", "fp16", "none"),
    ("fp16", "int8", "none"),
)  # fmt: skip


class TensorFormat(StrEnum):
    """Storage formats of a KV cache (aclFormat names)."""

    ND = "ND"
    FRACTAL_NZ = "FRACTAL_NZ"


class AscendCApi(StrEnum):
    """AscendC APIs the printer emits whose support differs between SoCs."""

    KERNEL_TYPE = "KERNEL_TASK_TYPE_DEFAULT"
    SET_WAIT_FLAG = "SetFlag/WaitFlag"
    ALLOC_EVENT_ID = "TPipe::AllocEventID"
    DATA_COPY_PAD = "DataCopyPad"
    UB_TO_UB_DATA_COPY = "DataCopy (UB -> UB)"
    ND_DMA = "DataCopy (GM -> UB, MultiCopyParams)"


_LEGACY_KV = frozenset({"int8", "fp16", "bf16"})
_ALL_KV = frozenset(
    {
        "int8", "uint8", "int16", "uint16", "int32", "uint32",
        "fp16", "bf16", "fp32", "hifloat8", "fp8_e5m2", "fp8_e4m3fn",
    }
)  # fmt: skip
_EVERY_API = frozenset(AscendCApi)
_BEFORE_950_API = _EVERY_API - {AscendCApi.ND_DMA}
"""The multi-dimensional GM -> UB copy (``MultiCopyParams``, NDDMA) is Ascend 950's: its
structs are defined only for the 950 arch in asc-devkit's ``kernel_struct_data_copy.h``
(``MultiCopyLoopInfo``), and the vendor uses it only in its ``arch35`` kernel."""


@dataclass(frozen=True)
class SocInfo:
    """One row of SPEC section 4, with the AscendC facts the printer needs."""

    name: str
    product: str
    supported: bool
    kv_dtypes: frozenset[str]
    index_dtypes: frozenset[str]
    formats: frozenset[TensorFormat]
    ub_bytes: int
    """Unified Buffer per vector core (SPEC §4)."""
    ub_usable_bytes: int
    """What a kernel may plan into: AscendC's ``TOTAL_UB_SIZE`` for the SoC's arch."""
    vector_cores: int
    """Vector cores a kernel is launched on (one representative variant)."""
    hbm_bytes_per_s: float
    """HBM (GM) bandwidth of the chip, reads and writes together (SPEC §4). The cost model
    (``runtime/tool/timeline.py``) gives each vector core an even share of it."""
    npu_arch: int | None = None
    """AscendC's ``__NPU_ARCH__`` (arch table); None where unknown."""
    scratch_ub_offset: int | None = None
    """``TMP_UB_OFFSET`` (constants.h): from here to ``ub_usable_bytes`` is the scratch
    area of library APIs that stage masks or temporaries (level-0 vector masks, Brcb,
    CreateVecIndex...). None of the APIs the printer emits uses it (DataCopy,
    DataCopyPad, SetFlag/WaitFlag are single intrinsics; ``Duplicate(dst, value,
    count)`` in asc-devkit ``impl/basic_api/dav_c100`` and ``dav_m200`` sets a mask
    register and calls ``vector_dup``), so plans may cover it; a printer change that
    emits such an API must plan below this offset."""
    event_ids: int = 8
    """Event ids per ``HardEvent`` (SetFlag doc): the sync pass's budget per pipe pair."""
    kernel_type: str | None = None
    """The ``KERNEL_TASK_TYPE_DEFAULT`` value the kernel declares (kernel type doc);
    None where the SoC does not support the declaration."""
    ascendc_apis: frozenset[AscendCApi] = _BEFORE_950_API
    """The AscendC APIs of :class:`AscendCApi` this SoC offers."""
    vector_clock_hz: float | None = None
    """Vector core clock (ini, VENDOR); None where no public figure was found (the cost
    model then says which clock it assumes)."""
    gm_unaligned_rate: float = 1.0
    """Share of the full DMA rate a burst gets when its GM address is not 512-byte
    aligned (align doc: 0.7 on Atlas A2, the page's worst case; 1.0, no penalty, where
    the page says the rule does not apply)."""
    casts: CastTable = ()
    """The ``Cast`` conversions (and round modes) a fused consumer may use (Cast doc);
    ``pakv_dialect.casts`` plans a body's conversions over them."""

    def supports_kv_dtype(self, kind: ElementKind) -> bool:
        return kind.name in self.kv_dtypes

    def supports_index_dtype(self, kind: ElementKind) -> bool:
        return kind.name in self.index_dtypes

    @property
    def distinguishes_nz_format(self) -> bool:
        """Whether a PA_NZ cache must carry FRACTAL_NZ (and a Norm cache ND)."""
        return TensorFormat.FRACTAL_NZ in self.formats

    @property
    def has_data_copy_pad(self) -> bool:
        """Whether AscendC offers ``DataCopyPad`` (byte-length DMA) here; without it
        only 32-byte multiples can be copied."""
        return AscendCApi.DATA_COPY_PAD in self.ascendc_apis

    def cast_modes(self, source: str, target: str) -> frozenset[CastRound]:
        """The round modes of AscendC ``Cast`` from kind ``source`` to ``target`` here
        (empty: no such ``Cast``)."""
        for row_source, row_target, modes in self.casts:
            if (row_source, row_target) == (source, target):
                return modes
        return frozenset()

    def missing_apis(self, needed: frozenset[AscendCApi]) -> list[AscendCApi]:
        """The APIs of ``needed`` this SoC lacks, in a stable order."""
        return sorted(needed - self.ascendc_apis)


KIB = 1024

SOCS: dict[str, SocInfo] = {
    soc.name: soc
    for soc in (
        SocInfo(
            name="Ascend910_95", product="Ascend 950 (PR/DT)", supported=True,  # SPEC §4
            kv_dtypes=_ALL_KV, index_dtypes=frozenset({"int32", "int64"}),  # SPEC §4
            formats=frozenset({TensorFormat.ND, TensorFormat.FRACTAL_NZ}),  # SPEC §4
            ub_bytes=256 * KIB,  # SPEC §4
            ub_usable_bytes=248 * KIB,  # constants.h arch 3510: TOTAL_UB_SIZE; SPEC §4
            vector_cores=64,  # VENDOR: 950PR, 64 vector cores (SPEC §4: 56 to 72)
            hbm_bytes_per_s=1.6e12,  # SPEC §4: 1.6 to 4 TB/s by variant; VENDOR: 1.6
            npu_arch=3510,  # arch table
            scratch_ub_offset=248 * KIB,  # constants.h arch 3510: TMP_UB_OFFSET (none)
            event_ids=8,  # SetFlag doc: 0-7
            kernel_type="KERNEL_TYPE_AIV_ONLY",  # kernel type doc; vendor _apt.cpp
            ascendc_apis=_EVERY_API,  # ND_DMA: vendor arch35 kernel, asc-devkit structs
            vector_clock_hz=1.65e9,  # ini: Ascend950PR vec_freq=1650
            casts=_950_CASTS,  # Cast doc
        ),
        SocInfo(
            name="Ascend910_93", product="Atlas A3 training / inference", supported=True,
            kv_dtypes=_LEGACY_KV, index_dtypes=frozenset({"int32"}),  # SPEC §4
            formats=frozenset({TensorFormat.ND}),  # SPEC §4
            ub_bytes=192 * KIB,  # SPEC §4
            ub_usable_bytes=192 * KIB,  # constants.h arch 2201: TOTAL_UB_SIZE
            vector_cores=48,  # SPEC §4: 40 or 48 per die
            hbm_bytes_per_s=1.6e12,  # SPEC §4: about 1.6 TB/s per die
            npu_arch=2201,  # arch table
            # constants.h arch 2201: TMP_UB_OFFSET 184 KiB. Plans cover [184, 192) KiB
            # as the vendor's A2/A3 kernel does (40 + 148 KiB of TBufs,
            # op_kernel/gather_pa_kv_cache_nz.h): no emitted API uses the scratch.
            scratch_ub_offset=184 * KIB,
            event_ids=8,  # SetFlag doc: 0-7
            kernel_type="KERNEL_TYPE_AIV_ONLY",  # kernel type doc; vendor .cpp
            # vector_clock_hz: no public A3 figure found; gm_unaligned_rate: the align doc
            # names A2 only, so no penalty is modelled here.
            casts=_A2_A3_CASTS,  # Cast doc
        ),
        SocInfo(
            name="Ascend910B", product="Atlas A2 training, 800I A2, A200I A2 Box",
            supported=True,  # SPEC §4
            kv_dtypes=_LEGACY_KV, index_dtypes=frozenset({"int32"}),  # SPEC §4
            formats=frozenset({TensorFormat.ND}),  # SPEC §4
            ub_bytes=192 * KIB,  # SPEC §4; VENDOR: 192 KB UB
            ub_usable_bytes=192 * KIB,  # constants.h arch 2201: TOTAL_UB_SIZE
            vector_cores=40,  # SPEC §4: 40 or 48 (VENDOR: 910B2 has 48)
            hbm_bytes_per_s=1.6e12,  # SPEC §4; VENDOR: 1.6 TB/s
            npu_arch=2201,  # arch table
            scratch_ub_offset=184 * KIB,  # constants.h arch 2201 (see Ascend910_93)
            event_ids=8,  # SetFlag doc: 0-7
            kernel_type="KERNEL_TYPE_AIV_ONLY",  # kernel type doc; vendor .cpp
            vector_clock_hz=1.8e9,  # VENDOR: 910B2 at 1.8 GHz (CANN platform files)
            gm_unaligned_rate=0.7,  # align doc: Atlas A2, worst case 70%
            casts=_A2_A3_CASTS,  # Cast doc
        ),
        SocInfo(
            name="Ascend310B", product="Atlas 200I/500 A2 inference", supported=True,
            kv_dtypes=_LEGACY_KV, index_dtypes=frozenset({"int32"}),  # SPEC §4
            formats=frozenset({TensorFormat.ND}),  # SPEC §4
            ub_bytes=256 * KIB,  # SPEC §4
            ub_usable_bytes=248 * KIB,  # constants.h arch 3002: TOTAL_UB_SIZE
            vector_cores=1,  # SPEC §4
            hbm_bytes_per_s=0.05e12,  # SPEC §4
            npu_arch=3002,  # arch table
            scratch_ub_offset=248 * KIB,  # constants.h arch 3002: TMP_UB_OFFSET (none)
            event_ids=8,  # SetFlag doc (TQueSync form): 0-7
            kernel_type=None,  # kernel type doc: not supported
            ascendc_apis=_BEFORE_950_API
            - {
                AscendCApi.KERNEL_TYPE,  # kernel type doc
                AscendCApi.SET_WAIT_FLAG,  # SetFlag doc
                AscendCApi.ALLOC_EVENT_ID,  # AllocEventID doc
                # Issue 9's review of the docs; not confirmed in a page read here.
                AscendCApi.UB_TO_UB_DATA_COPY,
            },
            casts=_310B_CASTS,  # Cast doc
        ),
        SocInfo(
            name="Ascend310P", product="Atlas inference series", supported=True,  # SPEC §4
            kv_dtypes=_LEGACY_KV, index_dtypes=frozenset({"int32"}),  # SPEC §4
            formats=frozenset({TensorFormat.ND}),  # SPEC §4
            ub_bytes=256 * KIB,  # SPEC §4
            ub_usable_bytes=256 * KIB,  # constants.h arch 2002: TOTAL_UB_SIZE
            vector_cores=8,  # SPEC §4: 8 AI cores (+7 vector cores)
            hbm_bytes_per_s=0.2e12,  # SPEC §4
            npu_arch=2002,  # arch table
            scratch_ub_offset=248 * KIB,  # constants.h arch 2002: TMP_UB_OFFSET
            event_ids=8,  # SetFlag doc: AI Core 0-7
            kernel_type="KERNEL_TYPE_AICORE",  # kernel type doc (8.0.RC2): AI Cores only
            ascendc_apis=_BEFORE_950_API - {AscendCApi.DATA_COPY_PAD},  # DataCopyPad doc
            casts=_INFERENCE_TRAINING_CASTS,  # Cast doc (AI Core; Vector Core: no Cast)
        ),
        SocInfo(
            name="Ascend910", product="Atlas training series", supported=True,  # SPEC §4
            kv_dtypes=_LEGACY_KV, index_dtypes=frozenset({"int32"}),  # SPEC §4
            formats=frozenset({TensorFormat.ND}),  # SPEC §4
            ub_bytes=256 * KIB,  # SPEC §4
            ub_usable_bytes=256 * KIB,  # constants.h arch 1001: TOTAL_UB_SIZE
            vector_cores=32,  # SPEC §4: 30 to 32 AI cores
            hbm_bytes_per_s=1.2e12,  # SPEC §4
            npu_arch=1001,  # arch table
            scratch_ub_offset=248 * KIB,  # constants.h arch 1001: TMP_UB_OFFSET
            event_ids=4,  # SetFlag doc: training series 0-3
            kernel_type=None,  # kernel type doc: not supported
            ascendc_apis=_BEFORE_950_API
            - {AscendCApi.KERNEL_TYPE, AscendCApi.DATA_COPY_PAD},  # kernel type, Pad docs
            casts=_INFERENCE_TRAINING_CASTS,  # Cast doc
        ),
        SocInfo(
            name="Ascend310", product="Atlas 200/300/500 inference", supported=False,
            kv_dtypes=frozenset(), index_dtypes=frozenset(), formats=frozenset(),  # SPEC §4
            ub_bytes=256 * KIB, ub_usable_bytes=256 * KIB,  # unsourced: never planned
            vector_cores=2, hbm_bytes_per_s=0.05e12,  # unsourced: never launched
        ),
    )
}  # fmt: skip
"""Every known SoC by name. Ascend310 is known and answers "not supported"."""

DEFAULT_SOC = "Ascend910B"


class SocError(ValueError):
    """An unknown SoC, or one that does not run the operator."""


def soc_info(name: str, operator: str = "GatherPaKvCache") -> SocInfo:
    """The table row for ``name``; raises SocError when unknown or unsupported.

    ``operator`` names the operator in the "not supported" message: the scatter
    (ScatterPaKvCache) runs on the same chips as the gather (SPEC section 8)."""
    soc = SOCS.get(name)
    if soc is None:
        raise SocError(f"unknown SoC '{name}': expected one of {', '.join(SOCS)}")
    if not soc.supported:
        raise SocError(f"{operator} is not supported on this SoC: {name}")
    return soc
