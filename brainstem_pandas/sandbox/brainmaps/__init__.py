"""The brainmaps API (``/brainmaps/v1/``) of the sandbox server.

A plain Django REST framework app modelled on the brainmaps API description in
the reference seeds: token login, categories, species, brains and file uploads,
``page``/``page_size`` pagination and ``{"error", "detail"}`` error bodies.
"""
