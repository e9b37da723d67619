"""The sets besides MNIST that training and evaluation take: MNIST digits re-drawn as canvas strokes, digits in
other hands' styles, generated non-digits, handwriting fonts, UCI's writers and synthetic photos."""
