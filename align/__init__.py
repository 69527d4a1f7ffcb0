"""Alignment: base models, SFT, the KTO dataset, KTO training and persona-fidelity evaluation."""
