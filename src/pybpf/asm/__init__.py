"""Instructions: model, opcodes, helper names, decoder/encoder, disassembler, assembler.

Pure data, no system calls. The pieces:

* :class:`Instruction` -- one eBPF instruction (LD_IMM64 as one 16-byte instruction) with
  metadata slots ``symbol``, ``reference``, ``line`` and ``core`` for the loader;
* :func:`decode` / :func:`encode` -- bytes <-> instructions, either byte order; malformed
  input raises :class:`InstructionError` naming the byte offset;
* :func:`format_instruction` -- llvm-objdump's text of one instruction;
  :func:`disassemble_section` -- a whole section as ``llvm-objdump -d`` prints it;
* :func:`assemble` -- the same llvm syntax back to instructions (labels, ``ll``, names);
* :mod:`pybpf.asm.builder` -- write programs in Python: ``mov64(R0, 0)``, ``exit_()``, labels;
* :mod:`pybpf.asm.opcodes` -- the ISA's constants and the table of valid encodings.
"""

from __future__ import annotations

from pybpf.lazy import lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pybpf.asm.assembler import assemble, assemble_bytes, assemble_sections
    from pybpf.asm.codec import check_instruction, decode, encode, validate
    from pybpf.asm.disasm import Relocation, Symbol, disassemble_section, objdump_header
    from pybpf.asm.instruction import (FP, R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, Instruction,
                                       InstructionError, LineInfo, Reg)
    from pybpf.asm.labels import link, slot_offsets, symbol_slots
    from pybpf.asm.llvm import format_instruction, format_program

# The names below come from their submodules on first use: the object loader needs only the
# opcode constants (pybpf.asm.opcodes), not the assembler and disassembler.
_LAZY = {
    **dict.fromkeys(("assemble", "assemble_bytes", "assemble_sections"), "assembler"),
    **dict.fromkeys(("check_instruction", "decode", "encode", "validate"), "codec"),
    **dict.fromkeys(("Relocation", "Symbol", "disassemble_section", "objdump_header"), "disasm"),
    **dict.fromkeys(("FP", "R0", "R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "R10",
                     "Instruction", "InstructionError", "LineInfo", "Reg"), "instruction"),
    **dict.fromkeys(("link", "slot_offsets", "symbol_slots"), "labels"),
    **dict.fromkeys(("format_instruction", "format_program"), "llvm"),
}


__getattr__, __dir__ = lazy_exports(globals(), _LAZY, "pybpf.asm.")



__all__ = [
    "Instruction", "InstructionError", "LineInfo", "Reg",
    "R0", "R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "R10", "FP",
    "decode", "encode", "validate", "check_instruction",
    "format_instruction", "format_program", "disassemble_section", "objdump_header", "Symbol", "Relocation",
    "assemble", "assemble_sections", "assemble_bytes",
    "link", "slot_offsets", "symbol_slots",
]
