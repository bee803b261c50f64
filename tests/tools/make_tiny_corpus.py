#!/usr/bin/python3
"""Writes resources/text/tiny-corpus.txt: a small, varied, hand-written + templated text (English, Chinese,
code, numbers, UI strings) used to train the test tokenizers and the `make-tiny` checkpoints' tokenizer.
Deterministic (fixed seed); rerun after editing the sentence lists."""
import random
import pathlib

ENGLISH = """The quick brown fox jumps over the lazy dog near the river bank.
A high-resolution image is cut into slices that each fit the vision encoder.
Each slice keeps its native aspect ratio, so thin text stays readable.
The overview image shows the whole picture at a lower resolution.
Please read the small print at the bottom of the receipt.
What colour is the car parked in front of the bakery?
The chart shows sales rising steadily from January to June.
There are three people standing under the red umbrella.
The button in the lower right corner says Cancel.
How many windows can you count on the left side of the building?
The map marks the train station with a blue square.
She wrote the shopping list on the back of an envelope.
The screenshot shows a settings dialog with two tabs.
A spreadsheet lists the monthly rent, the deposit and the agent's fee.
The label on the bottle says to shake well before use.
Our tokenizer must handle plain English, punctuation, and numbers like 3.14.
The error message reads: "File not found. Check the path and try again."
Turn left at the second traffic light, then walk about two hundred metres.
The museum opens at nine in the morning and closes at half past five.
Mountains rise behind the village; a narrow road winds between the fields.
The poster announces a concert on Saturday evening in the town hall.
A cat is sleeping on the keyboard next to a cup of cold coffee.
The invoice total includes tax, shipping and a small handling fee.
In the photo, the sign above the door is partly hidden by a tree branch.
The table has four columns: name, date, amount and status.
Answer briefly: is the light green or red?
The document is a scanned page with a handwritten note in the margin.
Two children are flying a kite on a windy hill.
The dashboard shows CPU usage at 87 percent and memory at 12 gigabytes.
He checked the weather forecast before leaving for the airport.
The recipe needs two eggs, a cup of flour and a pinch of salt.
A bicycle leans against the fence beside a yellow mailbox.
The slide title is "Quarterly Results" in bold white letters.
Describe the image in one sentence.
The menu lists soup, salad, pasta and three kinds of dessert.
Rain streaks the window, blurring the lights of the city outside.
The license plate is too small to read in the overview, but clear in the slice.
An old clock tower stands in the centre of the square.
The form asks for your name, address, phone number and email.
Visual tokens from every slice are joined in row order, separated by commas and new lines.
The resampler compresses each slice into a fixed number of tokens.
Large images cost more slices; small images need only the overview.
The boat drifts slowly past the lighthouse at sunset.
A green arrow points to the exit on the floor plan.
The book cover shows a fox reading a newspaper.
Is there any text written on the whiteboard?
The printer reports a paper jam in tray two.
The calendar shows a meeting every Tuesday at ten.
Heavy snow covered the parked cars overnight.
The label reads: Fragile, handle with care, this side up.""".splitlines()

CHINESE = """这张图片里有一只猫躺在窗台上晒太阳。
请读出收据最下面的小字。
图中的公交车是红色的，车牌号看不清楚。
屏幕上显示的是一个设置对话框，有两个选项卡。
高分辨率图像被切成若干小块，每一块都保持原来的长宽比。
概览图以较低的分辨率显示整张图片。
桌子上放着一杯咖啡和一本打开的书。
地图上用蓝色方块标出了火车站的位置。
这份表格列出了每个月的房租、押金和中介费。
天空中飘着几朵白云，远处是连绵的群山。
按钮上写着“取消”和“确定”。
请用一句话描述这张图片。
海报上写着周六晚上在市政厅举行音乐会。
两个孩子在山坡上放风筝。
发票上的总金额包括税费和运费。
这段代码的作用是计算两个数的和。
今天的天气预报说下午会下雨。
菜单上有汤、沙拉、面条和三种甜点。
照片里门上的招牌被树枝挡住了一部分。
图表显示一月到六月的销售额稳步上升。
红绿灯现在是绿色还是红色？
博物馆早上九点开门，下午五点半关门。
仪表盘显示处理器使用率为百分之八十七。
视觉标记按行排列，用逗号和换行分隔。
小图片只需要概览图，大图片需要更多切片。""".splitlines()

CODE = """def area(width, height):
    return width * height
for i in range(10):
    print(i, i * i)
int main(int argc, char **argv) { return 0; }
std::vector<int64_t> ids = tokenizer.encode(text);
if (x > 0 && y < 100) { count += 1; }
const auto plan = planSlices(size, policy);
SELECT name, price FROM items WHERE price > 20 ORDER BY price;
git commit -m "Fix the slice planner for tall images"
{"width": 1920, "height": 1080, "grid": [4, 2]}
x = torch.randn(1, 3, 448, 448)
<html><body><h1>Hello</h1></body></html>
export PATH=/usr/local/bin:$PATH
let total = items.map(i => i.price).reduce((a, b) => a + b, 0);
#include <iostream>
while (!done) { step(); }
return {"status": "ok", "count": 42}
mkdir -p build && cmake -S . -B build
assert abs(a - b) < 1e-5""".splitlines()

NAMES = ["Alice", "Bob", "Chen Wei", "Dana", "Emil", "Fatima", "Gao Lin", "Hiro", "Ines", "Jonas"]
ITEMS = ["apples", "bread", "coffee", "batteries", "paper", "tickets", "screws", "tea", "rice", "paint"]
CITIES = ["Berlin", "Shanghai", "Lagos", "Lima", "Oslo", "Toronto", "Mumbai", "Sydney", "Nairobi", "Seoul"]
UNITS = ["kg", "km", "ml", "MB", "px", "°C", "%", "ms"]
ZH_ITEMS = ["苹果", "面包", "咖啡", "电池", "纸", "车票", "茶叶", "大米"]


def templated(rng):
    kind = rng.randrange(8)
    if kind == 0:
        return f"{rng.choice(NAMES)} bought {rng.randint(2, 40)} {rng.choice(ITEMS)} for {rng.randint(1, 999)}.{rng.randint(0, 99):02d} dollars."
    if kind == 1:
        return f"Order #{rng.randint(10000, 99999)} ships to {rng.choice(CITIES)} on {rng.randint(2020, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}."
    if kind == 2:
        return f"The image is {rng.choice([640, 1024, 1280, 1920, 2560, 3840, 4096])}x{rng.choice([480, 768, 720, 1080, 1440, 2160, 3072])} pixels and splits into {rng.randint(1, 9)} slices."
    if kind == 3:
        return f"Measured value: {rng.uniform(-50, 500):.2f} {rng.choice(UNITS)} (±{rng.uniform(0, 5):.1f})."
    if kind == 4:
        return f"{rng.choice(NAMES)}买了{rng.randint(2, 30)}斤{rng.choice(ZH_ITEMS)}，一共花了{rng.randint(5, 500)}元。"
    if kind == 5:
        return f"Step {rng.randint(1, 20)}: set threads = {rng.choice([1, 2, 4, 8, 16])}, batch = {rng.choice([1, 2, 4, 8])}, lr = {rng.choice(['1e-3', '3e-4', '1e-4'])}."
    if kind == 6:
        return f"Call {rng.randint(100, 999)}-{rng.randint(1000, 9999)} before {rng.randint(1, 12)}:{rng.choice(['00', '15', '30', '45'])} {rng.choice(['am', 'pm'])}. Room {rng.randint(100, 999)}, floor {rng.randint(1, 30)}."
    return f"Question {rng.randint(1, 99)}: what is {rng.randint(2, 99)} + {rng.randint(2, 99)}? Answer: see the slice in row {rng.randint(1, 3)}, column {rng.randint(1, 3)}."


def main():
    rng = random.Random(20260501)
    lines = ENGLISH + CHINESE + CODE + [templated(rng) for _ in range(200)]
    rng.shuffle(lines)
    out = pathlib.Path(__file__).resolve().parents[2] / "resources" / "text" / "tiny-corpus.txt"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{out}: {len(lines)} lines")


if __name__ == "__main__":
    main()
