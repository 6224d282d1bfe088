"""PyTorch networks behind the engine's model methods (imported only when torch is used)."""
