"""What the views explain: why a value was not recorded, written vs recorded, the steps of
backward, the snippet export and derivatives by hand."""
