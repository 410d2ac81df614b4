"""Instructions: model, opcodes, helper names, decoder/encoder, disassembler, assembler."""
