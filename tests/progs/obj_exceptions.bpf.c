// SPDX-License-Identifier: GPL-2.0
/* An exception callback (libbpf 1.3+): exc_main declares exc_cb with the
 * btf_decl_tag("exception_callback:exc_cb"); the loader appends exc_cb although nothing calls
 * it. bpf_throw(cookie) unwinds to it and the program returns its value. */
#include "obj_common.h"

char LICENSE[] SEC("license") = "GPL";

extern void bpf_throw(u64 cookie) __ksym;

int throw_value;

__noinline int exc_cb(u64 cookie)
{
	return cookie + 1;
}

static __noinline int maybe_throw(int v)
{
	if (v)
		bpf_throw(v);
	return 7;
}

SEC("tc")
__exception_cb(exc_cb)
int exc_main(struct __sk_buff *skb)
{
	return maybe_throw(throw_value);
}
