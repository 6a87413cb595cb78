"""Lesson: search methods (note 000). Grid, random and Bayesian search (TPE, Gaussian process) on
the same space and trial budget, several seeds: does the informed search find good configurations
in fewer trials?

Run the whole lesson (every strategy and seed, then the verdict and docs/lessons/search_methods.md):

    tunekit lesson search_methods

This file is its first study (grid search, seed 0) for `tunekit run studies/lessons/search_methods.py`;
`tunekit compare studies/lessons/search_methods.py --strategies grid,random,tpe,gp,metropolis --trials 12`
compares the strategies (Metropolis included) outside the lesson.
"""

from tunekit.lessons import lesson_spec

spec = lesson_spec("search_methods")
