import unittest

from billing.invoice import Invoice
from billing.money import Money


class InvoiceTest(unittest.TestCase):
    def test_total_sums_lines(self) -> None:
        invoice = Invoice()
        invoice.add("tea", Money(250), 2)
        invoice.add("cake", Money(399), 1)
        self.assertEqual(invoice.total(), Money(899))

    def test_negative_quantity(self) -> None:
        with self.assertRaises(ValueError):
            Invoice().add("tea", Money(250), -1)

    def test_empty_total(self) -> None:
        self.assertEqual(Invoice().total(), Money(0))


if __name__ == "__main__":
    unittest.main()
