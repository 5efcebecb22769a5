/* The process-start peer: a static host program that exits at once. */
int
main(void)
{
	return 0;
}
