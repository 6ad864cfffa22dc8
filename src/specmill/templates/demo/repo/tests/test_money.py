import unittest

from billing.money import Money


class MoneyTest(unittest.TestCase):
    def test_parse_rounds_half_even(self) -> None:
        self.assertEqual(Money.parse("12.345").cents, 1234)
        self.assertEqual(Money.parse("12.355").cents, 1236)

    def test_currencies_do_not_mix(self) -> None:
        with self.assertRaises(ValueError):
            Money(1, "EUR") + Money(1, "USD")

    def test_str(self) -> None:
        self.assertEqual(str(Money(1234)), "12.34 EUR")


if __name__ == "__main__":
    unittest.main()
