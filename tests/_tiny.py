"""A tiny guard package built from scratch: WordLevel tokenizer, random ONNX graph, intent bank.

The graph is a bag-of-embeddings model, not a transformer: Gather, masked mean pooling, then
linear heads. Embedding column 0 is 1 for a few hazard words and 0 elsewhere, and the harm and
weapons heads weigh that column heavily, so prompts with those words score harmful by design.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

HIDDEN = 16
EMBEDDING_DIM = 8
CATEGORIES = [
    {"id": "violence", "description": "Violence and physical harm"},
    {"id": "weapons", "description": "Weapons and explosives"},
    {"id": "cybercrime", "description": "Hacking and malware"},
]
HAZARD_WORDS = ("pipe", "bomb", "weapon", "poison", "hack", "explosive")
WORDS = (
    "explain how to make a pipe bomb build weapon poison hack into computer password steal "
    "bake bread cake recipe cook dinner travel plan trip paris weather today what is the of "
    "for do i you can me my an with tell about help write poem story history learn obtain "
    "instructions building explosive device gain unauthorised access ask cooking get advice"
).split()
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]")
INTENTS = [
    {
        "text": "Obtain instructions for building an explosive device",
        "category": "weapons",
        "harm_prior": 0.95,
    },
    {"text": "Gain unauthorised access to a computer", "category": "cybercrime", "harm_prior": 0.9},
    {"text": "Learn to bake bread", "category": None, "harm_prior": 0.01},
    {"text": "Plan a trip to paris", "category": None, "harm_prior": 0.0},
    {"text": "Write a poem or story", "category": None, "harm_prior": 0.02},
]
MAX_LENGTH = 16
WINDOW_STRIDE = 4


def build_tokenizer() -> Tokenizer:
    vocab = {token: index for index, token in enumerate(SPECIAL_TOKENS)}
    for word in WORDS:
        vocab.setdefault(word, len(vocab))
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return tokenizer


def make_weights(tokenizer: Tokenizer, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    vocab_size = tokenizer.get_vocab_size()
    embedding = rng.normal(0.0, 0.5, (vocab_size, HIDDEN)).astype(np.float32)
    embedding[:, 0] = 0.0
    for word in HAZARD_WORDS:
        embedding[tokenizer.token_to_id(word), 0] = 1.0

    harm_weight = np.zeros((HIDDEN + EMBEDDING_DIM, 2), dtype=np.float32)
    harm_weight[:, 1] = rng.normal(0.0, 0.05, HIDDEN + EMBEDDING_DIM)
    harm_weight[0, 1] = 40.0
    category_weight = rng.normal(0.0, 0.1, (HIDDEN, len(CATEGORIES))).astype(np.float32)
    category_weight[0, 1] = 20.0
    return {
        "embedding": embedding,
        "intent_weight": rng.normal(0.0, 0.5, (HIDDEN, EMBEDDING_DIM)).astype(np.float32),
        "intent_bias": rng.normal(0.0, 0.1, EMBEDDING_DIM).astype(np.float32),
        "harm_weight": harm_weight,
        "harm_bias": np.array([0.0, -4.0], dtype=np.float32),
        "category_weight": category_weight,
        "category_bias": np.full(len(CATEGORIES), -3.0, dtype=np.float32),
    }


def build_graph(weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    constants = {
        **weights,
        "axis_1": np.array([1], dtype=np.int64),
        "axis_2": np.array([2], dtype=np.int64),
        "epsilon": np.array(1e-9, dtype=np.float32),
    }
    initializers = [numpy_helper.from_array(value, name) for name, value in constants.items()]
    node = helper.make_node
    nodes = [
        node("Gather", ["embedding", "input_ids"], ["token_states"]),
        node("Cast", ["attention_mask"], ["mask"], to=TensorProto.FLOAT),
        node("Unsqueeze", ["mask", "axis_2"], ["mask_3d"]),
        node("Mul", ["token_states", "mask_3d"], ["masked_states"]),
        node("ReduceSum", ["masked_states", "axis_1"], ["state_sum"], keepdims=0),
        node("ReduceSum", ["mask_3d", "axis_1"], ["token_count"], keepdims=0),
        node("Max", ["token_count", "epsilon"], ["safe_count"]),
        node("Div", ["state_sum", "safe_count"], ["pooled_embedding"]),
        node("MatMul", ["pooled_embedding", "intent_weight"], ["intent_projection"]),
        node("Add", ["intent_projection", "intent_bias"], ["intent_raw"]),
        node("Mul", ["intent_raw", "intent_raw"], ["intent_squares"]),
        node("ReduceSum", ["intent_squares", "axis_1"], ["intent_square_sum"], keepdims=1),
        node("Sqrt", ["intent_square_sum"], ["intent_norm"]),
        node("Max", ["intent_norm", "epsilon"], ["safe_norm"]),
        node("Div", ["intent_raw", "safe_norm"], ["intent_embedding"]),
        node("Concat", ["pooled_embedding", "intent_embedding"], ["harm_features"], axis=1),
        node("MatMul", ["harm_features", "harm_weight"], ["harm_projection"]),
        node("Add", ["harm_projection", "harm_bias"], ["harm_logits"]),
        node("MatMul", ["pooled_embedding", "category_weight"], ["category_projection"]),
        node("Add", ["category_projection", "category_bias"], ["category_logits"]),
    ]
    inputs = [
        helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
        for name in ("input_ids", "attention_mask")
    ]
    outputs = [
        helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", size])
        for name, size in (
            ("harm_logits", 2),
            ("category_logits", len(CATEGORIES)),
            ("intent_embedding", EMBEDDING_DIM),
            ("pooled_embedding", HIDDEN),
        )
    ]
    graph = helper.make_graph(nodes, "tiny_guard", inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def embed_texts(
    tokenizer: Tokenizer, weights: dict[str, np.ndarray], texts: list[str]
) -> np.ndarray:
    """Compute the graph's intent embedding in numpy, for texts that fit in one window."""
    rows = []
    for encoding in tokenizer.encode_batch(texts):
        pooled = weights["embedding"][encoding.ids].mean(axis=0)
        projected = pooled @ weights["intent_weight"] + weights["intent_bias"]
        rows.append(projected / np.linalg.norm(projected))
    return np.stack(rows)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_manifest(directory: Path, manifest: dict) -> None:
    """Write guard.json with fresh sha256s of every file that `manifest["files"]` lists."""
    manifest = dict(manifest)
    manifest["files"] = {name: sha256_of(directory / name) for name in manifest["files"]}
    (directory / "guard.json").write_text(json.dumps(manifest, indent=2))


def read_manifest(directory: Path) -> dict:
    return json.loads((directory / "guard.json").read_text())


def build_tiny_package(directory: Path, seed: int = 0) -> Path:
    """Write a complete, valid guard package into `directory` and return it."""
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    weights = make_weights(tokenizer, seed)

    tokenizer.save(str(directory / "tokenizer.json"))
    onnx.save(build_graph(weights), str(directory / "model.onnx"))
    (directory / "intents.json").write_text(json.dumps(INTENTS, indent=2))
    bank = embed_texts(tokenizer, weights, [intent["text"] for intent in INTENTS])
    np.save(directory / "intents.npy", bank.astype(np.float16))
    np.savez(
        directory / "intent_tower.npz", weight=weights["intent_weight"], bias=weights["intent_bias"]
    )

    files = ["model.onnx", "tokenizer.json", "intents.json", "intents.npy", "intent_tower.npz"]
    manifest = {
        "format_version": 1,
        "name": "tiny-test-guard",
        "version": "0.0.1",
        "base_model": "none (random bag of embeddings)",
        "labels": ["unharmful", "harmful"],
        "categories": CATEGORIES,
        "threshold": 0.5,
        "temperature": 1.0,
        "max_length": MAX_LENGTH,
        "window_stride": WINDOW_STRIDE,
        "embedding_dim": EMBEDDING_DIM,
        "intent_scale": 20.0,
        "hidden_size": HIDDEN,
        "opset": 17,
        "quantization": "none",
        "libraries": {"onnx": onnx.__version__},
        "files": dict.fromkeys(files, ""),
        "data_card": {},
        "metrics": {},
        "parity": {},
        "created": "2026-01-01T00:00:00Z",
    }
    write_manifest(directory, manifest)
    return directory
