import unittest

from billing.invoice import Invoice
from billing.money import Money
from billing.receipt import render


class ReceiptTest(unittest.TestCase):
    def test_lines_and_total(self) -> None:
        invoice = Invoice()
        invoice.add("tea", Money(250), 2)
        self.assertEqual(render(invoice), "tea  2 x 2.50 EUR = 5.00 EUR\nTotal: 5.00 EUR")


if __name__ == "__main__":
    unittest.main()
