"""BTF: type model, parsers (raw, ELF ``.BTF``/``.BTF.ext``, split), kernel BTF, dumpers, builder."""
