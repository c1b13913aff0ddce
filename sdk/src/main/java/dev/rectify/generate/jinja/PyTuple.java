package dev.rectify.generate.jinja;

import java.util.List;

/** A Python tuple: behaves as a sequence, prints with parentheses, is never equal to a list. */
record PyTuple(List<Object> items) {}
