"""Operations: health, metrics and logging."""
