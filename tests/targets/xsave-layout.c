/* Prints this CPU's XSAVE layout, one "COMPONENT OFFSET SIZE" line for each
 * extended state component enabled in XCR0 (CPUID leaf 0xD, standard
 * format), and "gdb13-misread COMPONENT" for each one that gdb 13 reads at
 * another offset: Intel's first AVX-512 CPUs', which gdb 13 assumes on every
 * CPU.  The tests that compare what gdb shows of gcore's and lgcore's cores
 * use it to tell gdb's misreading of this CPU from a wrong core. */
#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>

int main(void)
{
	static const unsigned fixed[10] = { [2] = 576, [3] = 960, [4] = 1024, [5] = 1088,
					    [6] = 1152, [7] = 1664, [9] = 2688 };
	unsigned int a, b, c, d, i;
	uint32_t lo, hi;
	uint64_t xcr0;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE))
		return 0;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	xcr0 = (uint64_t)hi << 32 | lo;
	printf("xcr0 0x%llx\n", (unsigned long long)xcr0);
	for (i = 2; i < 64; i++) {
		if (!(xcr0 >> i & 1))
			continue;
		__cpuid_count(0xd, i, a, b, c, d);
		printf("%u %u %u\n", i, b, a);
		if (i < 10 && fixed[i] && fixed[i] != b)
			printf("gdb13-misread %u\n", i);
	}
	return 0;
}
