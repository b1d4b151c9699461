/* The one main() of every Check program here: each check_*.c defines
 * unit_suite() and is linked with this file. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

Suite *unit_suite(void);

int main(void)
{
	SRunner *sr = srunner_create(unit_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	/* A suite that ran nothing proves nothing. */
	if (srunner_ntests_run(sr) == 0) {
		printf("FAIL: no test ran\n");
		failed = 1;
	}
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
