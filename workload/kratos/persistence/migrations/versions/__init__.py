"""One module per schema revision: ``<NNNN>_<name>.py``, each revising the one before."""
