#!/usr/bin/env python3
"""Checks compiled functions for branches and addresses that depend on secret data.

Usage: tools/ct_disasm.py BINARY

For each function listed in CHECKS, the release binary is disassembled with objdump and a
taint analysis runs over its control-flow graph to a fixed point:

* tainted (secret): every value loaded from memory that is not a stack slot the function only
  ever wrote untainted values to (slices hold data; stack arguments and spilled counters do
  not), plus the argument registers named in CHECKS (the secret index or mask);
* taint flows from any source operand to the destination (moves and `lea` overwrite it;
  `xor r, r` clears it), and from operands to the flags;
* a violation is a conditional jump that reads tainted flags, or a memory operand whose
  address uses a tainted register.

This is what valgrind's memcheck does dynamically for the portable engine, done statically so
that it also covers the AVX-512 IFMA engine, which valgrind cannot run. It is conservative in
one direction only: a value returned by a call is treated as public (the callees are checked on
their own). Exit 0 when every function is found and clean, 1 otherwise.
"""

import functools
import re
import subprocess
import sys

# (demangled name prefix, secret argument registers by the System V order, what it is, whether
# it must be clean). The control is a deliberately leaky scan in the ct_check example: the check
# must find its branch, or it is blind.
CHECKS = [
    ("paillier_gpu_engine::bigint::ct::select_entry_scan_avx512f", {"rcx"}, "table scan, AVX-512F copy", True),
    ("paillier_gpu_engine::bigint::ct::select_entry_scan_avx2", {"rcx"}, "table scan, AVX2 copy", True),
    ("paillier_gpu_engine::bigint::ct::select_entry_scan_baseline", {"rcx"}, "table scan, baseline copy", True),
    ("paillier_gpu_engine::bigint::ct::conditional_assign", {"rdi"}, "final subtraction, both engines", True),
    ("paillier_gpu_engine::bigint::ifma::reduce_once", set(), "IFMA final subtraction", True),
    ("paillier_gpu_engine::bigint::adx::mont_mul", set(), "ADX product (valgrind cannot run it)", True),
    ("paillier_gpu_engine::bigint::adx::mont_square", set(), "ADX square (valgrind cannot run it)", True),
    ("paillier_gpu_engine::bigint::adx::mont_product_with_quotient", set(), "ADX product or square keeping its quotient (two digits)", True),
    ("paillier_gpu_engine::bigint::adx::wide_product", set(), "ADX cross product (two digits)", True),
    ("paillier_gpu_engine::bigint::adx::reduce_partial", set(), "ADX reduction rows (two digits)", True),
    ("paillier_gpu_engine::bigint::two_digit::cross_sum", set(), "two digits: sum of the cross products", True),
    ("paillier_gpu_engine::bigint::two_digit::high_digit", set(), "two digits: reductions of the high digit", True),
    ("paillier_gpu_engine::bigint::two_digit::ifma::fused", set(), "IFMA two digits modulo n (public-key noise)", True),
    ("paillier_gpu_engine::bigint::two_digit::ifma::add_low_digit", set(), "IFMA two digits: joining the digits", True),
    ("paillier_gpu_engine::bigint::two_digit::ifma::add_to_radix52", set(), "IFMA two digits: the low digit's N carried into the high one", True),
    ("paillier_gpu_engine::bigint::ifma::amm", set(), "IFMA Montgomery product", True),
    ("paillier_gpu_engine::bigint::ifma::amm_pair", set(), "IFMA products in pairs", True),
    ("paillier_gpu_engine::bigint::multi_buffer::kernels::mul", set(), "multi-buffer product, eight lanes", True),
    ("paillier_gpu_engine::bigint::multi_buffer::kernels::square", set(), "multi-buffer squaring, eight lanes", True),
    ("paillier_gpu_engine::bigint::multi_buffer::kernels::select", set(), "multi-buffer table scan, a digit per lane", True),
    ("paillier_gpu_engine::bigint::multi_buffer::row_select::select_words", set(), "multi-buffer fixed-base row scan by permutes, a digit per lane", True),
    ("paillier_gpu_engine::bigint::multi_buffer::digit_kernels::mul", set(), "multi-buffer two digits: a product", True),
    ("paillier_gpu_engine::bigint::multi_buffer::digit_kernels::square", set(), "multi-buffer two digits: a square", True),
    ("paillier_gpu_engine::bigint::multi_buffer::digit_kernels::split", set(), "multi-buffer two digits: a value split into digits", True),
    ("paillier_gpu_engine::bigint::multi_buffer::digit_kernels::join", set(), "multi-buffer two digits: digits joined", True),
    ("paillier_gpu_engine::bigint::multi_buffer::resident_kernels::mul", set(), "multi-buffer two digits, window in registers: a product", True),
    ("paillier_gpu_engine::bigint::multi_buffer::resident_kernels::square", set(), "multi-buffer two digits, window in registers: a square", True),
    ("paillier_gpu_engine::bigint::multi_buffer::resident_kernels::high_digit", set(), "multi-buffer two digits, window in registers: the high digit", True),
    ("paillier_gpu_engine::bigint::multi_buffer::narrow::kernels::avx512::", set(), "narrow lanes on AVX-512F: products, squares, table scan", True),
    ("paillier_gpu_engine::bigint::multi_buffer::narrow::kernels::avx2::", set(), "narrow lanes on AVX2: products, squares, table scan", True),
    ("paillier_gpu_engine::bigint::multi_buffer::narrow::radix::reduce_once", set(), "narrow lanes: final subtraction", True),
    ("ct_check::control_select_with_plain_mask", {"rcx"}, "CONTROL: must be reported", False),
]

GPRS = ["ax", "bx", "cx", "dx", "si", "di", "bp", "sp"] + [f"{i}" for i in range(8, 16)]


def family(reg):
    """Canonical register family: eax/ax/al -> rax, r8d -> r8, ymm3/xmm3 -> zmm3, k1."""
    reg = reg.strip().lower()
    m = re.fullmatch(r"[xyz]mm(\d+)", reg)
    if m:
        return "zmm" + m.group(1)
    m = re.fullmatch(r"r(\d+)[dwb]?", reg)
    if m:
        return "r" + m.group(1)
    m = re.fullmatch(r"[re]?([abcd])[xlh]", reg)
    if m:
        return "r" + m.group(1) + "x"
    m = re.fullmatch(r"[re]?(si|di|bp|sp)l?", reg)
    if m:
        return "r" + m.group(1)
    if re.fullmatch(r"k[0-7]", reg):
        return reg
    return None


REG_TOKEN = re.compile(r"\b([re]?[abcd][xlh]|[re]?(?:si|di|bp|sp)l?|r\d+[dwb]?|[xyz]mm\d+|k[0-7])\b")

MOVES = re.compile(r"^(v?mov\w*|lea|set\w+|pop|vpbroadcast\w*|vbroadcast\w*|kmov\w)$")
NO_DEST = re.compile(r"^(cmp\w*|test|bt|vptest\w*|kortest\w|ktest\w|push|vucomis\w|vcomis\w)$")
READS_FLAGS = re.compile(r"^(j(?!mp)\w+|cmov\w+|set\w+|adc|sbb|adcx|adox)$")
WRITES_FLAGS = re.compile(
    r"^(add|sub|adc|sbb|and|or|xor|cmp|test|inc|dec|neg|shl|shr|sar|rol|ror|imul|mul|bt|adcx|adox|"
    r"kortest\w|ktest\w|vptest\w*|popcnt|lzcnt|tzcnt|bsf|bsr)$"
)
CALLER_SAVED = {"rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11"} | {
    f"zmm{i}" for i in range(32)
} | {f"k{i}" for i in range(8)}


def split_operands(text):
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def memory_of(operand):
    m = re.search(r"\[([^\]]*)\]", operand)
    return m.group(1) if m else None


def regs_in(text):
    return {f for f in (family(t) for t in REG_TOKEN.findall(text)) if f}


def stack_slot(address):
    """A stack slot's key, for addresses off rsp or rbp alone (no index register)."""
    regs = regs_in(address)
    if regs and regs <= {"rsp"} or regs == {"rbp"}:
        return address.replace(" ", "")
    return None


@functools.lru_cache(maxsize=1)
def disassembly(binary):
    """The whole binary's disassembly, once per run (every check reads it)."""
    return subprocess.run(
        ["objdump", "-d", "-C", "--no-show-raw-insn", "-M", "intel", binary],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()


def disassemble(binary, name):
    functions, current = [], None
    for line in disassembly(binary):
        header = re.match(r"^([0-9a-f]+) <(.*)>:$", line)
        if header:
            current = None
            if header.group(2).startswith(name) and "{{closure}}" not in header.group(2):
                current = (header.group(2), [])
                functions.append(current)
            continue
        if current is None:
            continue
        ins = re.match(r"^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$", line)
        if ins:
            operands = re.sub(r"\s*#.*$", "", ins.group(3))
            operands = re.sub(r"\s*<[^>]*>$", "", operands)
            current[1].append((int(ins.group(1), 16), ins.group(2), operands))
    return functions


def analyse(instructions, secret_args):
    """Returns a list of violations (address, text)."""
    addresses = [a for a, _, _ in instructions]
    index_of = {a: i for i, a in enumerate(addresses)}
    # state: (tainted registers, tainted flags, tainted stack slots)
    entry = (frozenset(secret_args), False, frozenset())
    states = {0: entry}
    work = [0]
    violations = {}
    steps = 0
    while work:
        steps += 1
        if steps > 200000:
            raise RuntimeError("taint analysis did not converge")
        i = work.pop()
        regs, flags, slots = states[i]
        regs, slots = set(regs), set(slots)
        while True:
            addr, mnemonic, operands = instructions[i]
            ops = split_operands(operands)
            if (mnemonic.startswith("nop") or mnemonic.startswith("data16")
                    or (mnemonic in ("cs", "ds") and operands.startswith("nop"))):
                ops = []  # padding (`cs nop WORD PTR [...]` too): its "address" is never accessed
            op_taint = []
            for op in ops:
                mem = memory_of(op)
                if mem is not None and mnemonic == "lea":
                    # Address arithmetic, not an access: as secret as its registers.
                    op_taint.append(bool(regs_in(mem) & regs))
                elif mem is not None:
                    used = regs_in(mem)
                    if used & regs:
                        violations[addr] = f"secret-dependent address: {mnemonic} {operands}"
                    slot = stack_slot(mem)
                    op_taint.append(slot in slots if slot else True)
                else:
                    op_taint.append(bool(regs_in(op) & regs))
            dest = ops[0] if ops and not NO_DEST.match(mnemonic) else None
            if mnemonic in ("jrcxz", "jecxz"):
                # Reads the count register, not the flags (the ADX row's loop exit).
                if "rcx" in regs:
                    violations[addr] = f"branch on a secret count: {mnemonic} {operands}"
            elif mnemonic.startswith("j") and mnemonic != "jmp" and flags:
                violations[addr] = f"branch on secret flags: {mnemonic} {operands}"
            sources = op_taint[1:] if (dest is not None and MOVES.match(mnemonic)) else op_taint
            if mnemonic == "mulx":
                # hi, lo = rdx · source: two destinations, one implicit source.
                sources = op_taint[2:] + ["rdx" in regs]
            tainted = any(sources) or (READS_FLAGS.match(mnemonic) is not None and flags
                                       and not mnemonic.startswith("j"))
            clears = (len(ops) >= 2 and mnemonic in ("xor", "sub", "vpxor", "vpxorq", "vxorps", "pxor")
                      and len(set(o.replace(" ", "") for o in ops)) == 1) or (
                      mnemonic in ("vpxor", "vpxorq", "vpxord", "vxorps") and len(ops) == 3
                      and ops[1] == ops[2])
            if clears:
                tainted = False
            if WRITES_FLAGS.match(mnemonic):
                flags = tainted or any(op_taint)
                if clears:
                    flags = False
            if mnemonic.startswith("call"):
                # The result (rax, rdx) is as secret as the arguments (a barrier such as
                # subtle's returns its argument); everything else the callee may clobber.
                secret_arguments = bool(regs & {"rdi", "rsi", "rdx", "rcx", "r8", "r9"})
                regs -= CALLER_SAVED
                if secret_arguments:
                    regs |= {"rax", "rdx"}
                flags = False
            elif dest is not None and not mnemonic.startswith("j"):
                mem = memory_of(dest)
                if mem is not None:
                    slot = stack_slot(mem)
                    if slot:
                        if tainted:
                            slots.add(slot)
                        else:
                            slots.discard(slot)
                else:
                    for reg in regs_in(dest):
                        if tainted:
                            regs.add(reg)
                        else:
                            regs.discard(reg)
                # Instructions with two destinations (mul, xchg, cqo) are rare here: taint rdx too.
                if mnemonic in ("mul", "imul") and len(ops) == 1 and tainted:
                    regs |= {"rax", "rdx"}
                if mnemonic == "mulx" and len(ops) == 3:
                    for reg in regs_in(ops[1]):
                        if tainted:
                            regs.add(reg)
                        else:
                            regs.discard(reg)
            # Successors.
            successors = []
            if mnemonic.startswith("j") and not operands.startswith("QWORD"):
                target = re.match(r"^([0-9a-f]+)", operands)
                if target and int(target.group(1), 16) in index_of:
                    successors.append(index_of[int(target.group(1), 16)])
                if mnemonic != "jmp" and i + 1 < len(instructions):
                    successors.append(i + 1)
            elif mnemonic.startswith("ret") or mnemonic in ("ud2", "hlt"):
                pass
            elif i + 1 < len(instructions):
                successors.append(i + 1)
            state = (frozenset(regs), flags, frozenset(slots))
            if len(successors) == 1 and successors[0] == i + 1 and (i + 1) not in states:
                i += 1
                states[i] = state
                continue
            for s in successors:
                old = states.get(s)
                merged = state if old is None else (old[0] | state[0], old[1] or state[1], old[2] | state[2])
                if merged != old:
                    states[s] = merged
                    work.append(s)
            break
    return sorted(violations.items())


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = sys.argv[1]
    failed = False
    for name, secret_args, what, must_be_clean in CHECKS:
        functions = disassemble(binary, name)
        if not functions:
            print(f"FAIL {name}: not found as its own function (inlined? then nothing checks it)")
            failed = True
            continue
        for full_name, instructions in functions:
            reads_secret = not secret_args or any(
                regs_in(ops) & secret_args for _, _, ops in instructions[:16])
            violations = analyse(instructions, secret_args)
            label = f"{full_name[:70]} ({what}, {len(instructions)} instructions)"
            if not reads_secret:
                print(f"FAIL {label}: its secret argument {sorted(secret_args)} is not read where "
                      "the calling convention puts it; the check cannot see it")
                failed = True
            elif not must_be_clean:
                if violations:
                    print(f"ok   {label}: {len(violations)} finding(s), as it should")
                else:
                    print(f"FAIL {label}: no finding in the leaky control; the check is blind")
                    failed = True
            elif violations:
                failed = True
                print(f"FAIL {label}")
                for addr, text in violations:
                    print(f"     {addr:x}: {text}")
            else:
                print(f"ok   {label}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
