"""A Go ``text/template``/``html/template`` engine with the Sprig functions (see ``gotemplate``)."""
