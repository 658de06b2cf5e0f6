"""The study layer: the Tuner, the loop that runs a study, and the study's memory.

It sits between the command line (and study files) above and the strategies, backends and
results below; nothing below imports from here.
"""
