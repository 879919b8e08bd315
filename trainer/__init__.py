"""Training and evaluation of the fer-desktop models on FER-2013."""
