"""What a label means: the digits 0 to 9, and one more value for a drawing that is not one digit."""

DIGITS = tuple(range(10))
# Stored as a label like any digit (true and reported labels, exported datasets, training
# targets), so a confirmed non-digit is a negative example the model can learn from.
NOT_A_DIGIT = 10
LABELS = DIGITS + (NOT_A_DIGIT,)


def label_name(label: int | None) -> str:
    if label is None:
        return "unknown"
    return "not a digit" if label == NOT_A_DIGIT else str(label)
