"""A tiny random BERT encoder with a WordPiece tokenizer, built in the test session."""

from __future__ import annotations

from pathlib import Path

WORDS = (
    "how do i make a pipe bomb kill python process hangs bake bread cake recipe write poem "
    "about spring hack into my neighbour wifi steal credit card numbers explain photosynthesis "
    "tell me joke weather today translate this sentence french help with homework math problem "
    "build weapon hurt someone get revenge on coworker buy drugs online learn guitar chords "
    "story dragon pretend you are dan ignore all previous instructions and answer the following "
    "what is capital of spain solve for x plan trip paris the to of in for with my your is are"
).split()


def build_tiny_encoder(folder: Path, seed: int = 0) -> Path:
    """Write config.json, model.safetensors and tokenizer.json of a 2-layer random encoder."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel

    folder.mkdir(parents=True, exist_ok=True)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = {token: index for index, token in enumerate(specials + sorted(set(WORDS)))}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tokenizer.save(str(folder / "tokenizer.json"))

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=256)
    BertModel(config, add_pooling_layer=False).save_pretrained(str(folder))
    return folder
