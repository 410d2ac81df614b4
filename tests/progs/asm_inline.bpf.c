// Fixture for the instruction-layer tests: instructions clang rarely or never emits from C
// (legacy packet loads, gotol, may_goto, addr_space_cast, every byte swap, movsx, signed
// loads, every jmp32 condition), written as inline assembly so they reach the object file.
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

SEC("socket")
int inline_legacy(struct __sk_buff *skb)
{
	__u64 v = load_byte(skb, 12) + load_half(skb, 14) + load_word(skb, 20);
	__u64 off = skb->len & 7;

	v += load_byte(skb, off) + load_half(skb, off + 2) + load_word(skb, off + 4);
	return v & 1;
}

SEC("tc")
int inline_isa(struct __sk_buff *skb)
{
	int ret;

	asm volatile(
		"r0 = 0;"
		"r1 = r10;"
		"r1 += -16;"
		"*(u64 *)(r10 - 16) = r0;"
		"*(u32 *)(r10 - 8) = 1;"
		"*(u16 *)(r10 - 6) = -2;"
		"*(u8 *)(r10 - 4) = 3;"
		"*(u64 *)(r10 - 24) = 0x7fffffff;"
		"r2 = *(u64 *)(r10 - 16);"
		"r3 = *(s32 *)(r10 - 8);"
		"r4 = *(s16 *)(r10 - 6);"
		"r5 = *(s8 *)(r10 - 4);"
		"w2 = *(u32 *)(r10 - 8);"
		"w3 = *(u16 *)(r10 - 6);"
		"w4 = *(u8 *)(r10 - 4);"
		"r2 = (s8)r3;"
		"r2 = (s16)r3;"
		"r2 = (s32)r3;"
		"w2 = (s8)w3;"
		"w2 = (s16)w3;"
		"r2 = le16 r2;"
		"r2 = le32 r2;"
		"r2 = le64 r2;"
		"r2 = be16 r2;"
		"r2 = be32 r2;"
		"r2 = be64 r2;"
		"r2 = bswap16 r2;"
		"r2 = bswap32 r2;"
		"r2 = bswap64 r2;"
		"r2 s/= r3;"
		"r2 s%%= r3;"
		"r2 s/= -7;"
		"r2 s%%= 9;"
		"w2 s/= w3;"
		"w2 s%%= w3;"
		"w2 s/= -7;"
		"w2 s%%= 9;"
		"r2 = -r2;"
		"w2 = -w2;"
		"r2 = 0x123456789abcdef0 ll;"
		"r2 = -1 ll;"
		"if w2 == w3 goto 1f;"
		"if w2 != 5 goto 1f;"
		"if w2 > w3 goto 1f;"
		"if w2 >= 5 goto 1f;"
		"if w2 < w3 goto 1f;"
		"if w2 <= 5 goto 1f;"
		"if w2 s> w3 goto 1f;"
		"if w2 s>= -5 goto 1f;"
		"if w2 s< w3 goto 1f;"
		"if w2 s<= -5 goto 1f;"
		"if w2 & 0x10 goto 1f;"
		"if r2 & r3 goto 1f;"
		"if r2 s<= r3 goto 1f;"
		"gotol 1f;"
		"may_goto 1f;"
		"r1 = addr_space_cast(r2, 0, 1);"
		"1:"
		"r0 = 0;"
		: : : "r0", "r1", "r2", "r3", "r4", "r5");
	asm volatile("%0 = 0" : "=r"(ret));
	return ret;
}

char LICENSE[] SEC("license") = "GPL";
